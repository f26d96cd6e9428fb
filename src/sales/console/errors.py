from sales.core.errors import SalesError


class SignInFailed(SalesError):
    status_code, code, title = 401, "sign_in_failed", "Sign-in failed"


class SignInThrottled(SalesError):
    status_code, code, title = 429, "sign_in_throttled", "Too many sign-in attempts"


class UserExists(SalesError):
    status_code, code, title = 409, "user_exists", "User exists"
