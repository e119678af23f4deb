"""One exception hierarchy; every message says what to change."""


class AcecoderError(Exception):
    """Base of every error this package raises on purpose."""


class InputError(AcecoderError):
    """A file or record that cannot be used, with where it is."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        where = f"{path}:{line}: " if path and line else f"{path}: " if path else ""
        super().__init__(where + message)
        self.path, self.line = path, line


class ConfigError(AcecoderError):
    """A setting that is missing, unknown or out of range."""


class ComponentError(AcecoderError):
    """A part of the system stopped working (a model server this process started died, the
    sandbox could not run): not the user's input. Commands exit with code 1 on it, 2 on the others."""


class SandboxError(ComponentError):
    """The execution engine itself could not run (not a program's failure)."""
