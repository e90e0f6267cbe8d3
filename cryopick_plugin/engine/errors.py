"""The one exception type for bad user input."""


class CryopickInputError(ValueError):
    """Bad input from the user: the message names the file (or parameter) and the problem.

    Raised before anything is written, so a failed import or training leaves no half-written
    output behind. The CLI prints it without a traceback; protocols show it in their log.
    """
