"""What can go wrong reading a video, as exception and warning classes a caller can catch."""


class VideoOpenError(OSError):
    """A video could not be opened; the message names the file and the reason."""


class VideoDecodeError(RuntimeError):
    """The decoder failed (raised an exception) part-way; chained to the original exception."""


class VideoStallError(TimeoutError):
    """The decoder produced nothing for longer than the reader's ``stall_timeout``."""


class VideoDecodeWarning(UserWarning):
    """Some frames of a video could not be decoded (truncated or corrupt file)."""
