"""The few small things both the kiosk and kiosk-central need.

Money in cents, PIN verifiers, check digits, "did you mean", the clock, the TOML
settings reader and its layered files (kiosk.toml's and central.toml's defaults under
the site's file), secret files and the root of the project's exceptions. Only the
standard library and this part's own third-party libraries are imported here;
everything else imports from here.
"""


class KioskError(Exception):
    """The root of every error this project raises on purpose.

    Each part has its own root under this one (StoreError, SyncError, DeviceError,
    ConfigError, SessionError, CommandError, CentralError); a message says what happened
    and what the person who must act can do about it. The one exception is the rules'
    RulesError: ``rules`` may import nothing of the project (architecture.md), not even
    this class, so its root stands beside this one.
    """
