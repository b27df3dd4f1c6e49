"""Barcode sources (evdev HID, pyserial, keyboard) emitting plain ``Scan`` values.

Arrives with issue 4.
"""
