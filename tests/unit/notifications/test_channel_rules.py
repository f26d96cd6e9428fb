"""Channel choice (issue 10 §4): preferred unless opted out; UPR-004 order; UPR-006 opt-outs for marketing."""
from __future__ import annotations

import pytest

from sales.notifications.enums import Channel as C, RecipientType as R
from sales.notifications.rules import Preferences, choose_channel

P = Preferences
NONE: frozenset[C] = frozenset()

CASES = [
    # id, recipient, transactional, requested, preferences, expected channel, reason
    ("customer-unknown-prefs-UPR-004-in-app-first", R.CUSTOMER, True, None, None, C.IN_APP, "DEFAULT_ORDER"),
    ("customer-preferred", R.CUSTOMER, True, None, P(preferred_channel=C.WHATSAPP), C.WHATSAPP, "PREFERRED"),
    ("customer-preferred-marketing", R.CUSTOMER, False, None, P(preferred_channel=C.EMAIL), C.EMAIL, "PREFERRED"),
    ("customer-preferred-opted-out-UPR-004-next", R.CUSTOMER, True, None,
     P(preferred_channel=C.WHATSAPP, channels_opted_out=frozenset({C.WHATSAPP, C.IN_APP})),
     C.PUSH_NOTIFICATION, "DEFAULT_ORDER"),
    ("customer-in-app-and-push-opted-out-email", R.CUSTOMER, False, None,
     P(channels_opted_out=frozenset({C.IN_APP, C.PUSH_NOTIFICATION})), C.EMAIL, "DEFAULT_ORDER"),
    ("UPR-006-marketing-opt-out-suppressed", R.CUSTOMER, False, None,
     P(marketing_opt_out=True, preferred_channel=C.EMAIL), None, "MARKETING_OPT_OUT"),
    ("UPR-006-marketing-opt-out-transactional-still-sent", R.CUSTOMER, True, None,
     P(marketing_opt_out=True, preferred_channel=C.EMAIL), C.EMAIL, "PREFERRED"),
    ("UPR-006-requested-channel-opted-out-marketing-suppressed", R.CUSTOMER, False, C.SMS,
     P(channels_opted_out=frozenset({C.SMS})), None, "CHANNEL_OPTED_OUT"),
    ("requested-channel-opted-out-transactional-falls-back", R.CUSTOMER, True, C.SMS,
     P(channels_opted_out=frozenset({C.SMS}), preferred_channel=C.EMAIL), C.EMAIL, "PREFERRED"),
    ("requested-channel-allowed", R.CUSTOMER, False, C.SMS, P(preferred_channel=C.EMAIL), C.SMS, "REQUESTED"),
    ("UPR-006-every-channel-opted-out-marketing", R.CUSTOMER, False, None, P(channels_opted_out=frozenset(C)),
     None, "NO_ALLOWED_CHANNEL"),
    ("every-channel-opted-out-transactional-in-app", R.CUSTOMER, True, None, P(channels_opted_out=frozenset(C)),
     C.IN_APP, "TRANSACTIONAL_FALLBACK"),
    ("rm-default-push", R.RM, True, None, None, C.PUSH_NOTIFICATION, "STAFF_DEFAULT"),
    ("supervisor-default-push", R.SUPERVISOR, True, None, None, C.PUSH_NOTIFICATION, "STAFF_DEFAULT"),
    ("staff-requested", R.RM, True, C.EMAIL, None, C.EMAIL, "REQUESTED"),
    ("staff-ignore-customer-opt-outs", R.SUPERVISOR, False, None, P(marketing_opt_out=True),
     C.PUSH_NOTIFICATION, "STAFF_DEFAULT"),
]


@pytest.mark.parametrize(("recipient", "transactional", "requested", "preferences", "channel", "reason"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_choose_channel(recipient, transactional, requested, preferences, channel, reason):
    decision = choose_channel(recipient_type=recipient, transactional=transactional, requested=requested,
                              preferences=preferences)
    assert (decision.channel, decision.reason) == (channel, reason)
    assert decision.sends is (channel is not None)
