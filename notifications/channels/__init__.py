"""The providers messages travel by: SMS (Twilio) and email (SMTP). One error type says whether
trying again can help."""


class DeliveryError(Exception):
    """The provider did not take the message. `permanent`: trying again cannot help (a bad
    number, an opted-out recipient); `block`: the address is unusable until a person clears it;
    `maybe_delivered`: the provider may have the message all the same (the answer timed out, the
    connection broke after the request left), so it is looked up before any second send."""

    def __init__(
        self, message: str, *, permanent: bool, code: str = "", block: str = "", maybe_delivered: bool = False
    ):
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.block = block
        self.maybe_delivered = maybe_delivered
