"""The one exception type for mistakes a user can make and fix."""


class NSTError(Exception):
    """A problem with the user's input or environment, with a message that says what to do.

    The command line prints these without a traceback; anything else is a bug in nst_utils.
    """
