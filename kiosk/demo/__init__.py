"""The demo library (its policy and generated data) and the loopback demo."""
