"""Which channel a message goes out on, or why it does not go out at all. Pure: no I/O, no clock.

- UPR-004 Channel Priority: in-app first, then push, then email (then SMS, WhatsApp).
- UPR-006 Opt-Out Respect: a marketing message (`transactional=False`) never goes to a user who opted out
  of marketing, nor over a channel the user opted out of.
- Issue 10 §4: a customer gets their preferred channel unless they opted out of it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sales.notifications.enums import Channel, RecipientType

DEFAULT_ORDER: tuple[Channel, ...] = (Channel.IN_APP, Channel.PUSH_NOTIFICATION, Channel.EMAIL, Channel.SMS,
                                      Channel.WHATSAPP)
# Staff messages (new lead with an SLA deadline, escalations, queue alerts) are time-critical work messages:
# push to the staff app; customer opt-outs do not apply to them.
STAFF_CHANNEL = Channel.PUSH_NOTIFICATION
# A transactional message to a customer who opted out of every outbound channel still lands in the app's inbox.
TRANSACTIONAL_FALLBACK = Channel.IN_APP


@dataclass(frozen=True)
class Preferences:
    """A customer's communication preferences as this service knows them (none known = no opt-outs)."""

    marketing_opt_out: bool = False
    channels_opted_out: frozenset[Channel] = field(default_factory=frozenset)
    preferred_channel: Channel | None = None


@dataclass(frozen=True)
class ChannelDecision:
    """The channel chosen, or None with the reason nothing is sent."""

    channel: Channel | None
    reason: str

    @property
    def sends(self) -> bool:
        return self.channel is not None


def choose_channel(*, recipient_type: RecipientType, transactional: bool, requested: Channel | None = None,
                   preferences: Preferences | None = None) -> ChannelDecision:
    """The delivery channel of one message (UPR-004, UPR-006)."""
    if recipient_type is not RecipientType.CUSTOMER:
        return ChannelDecision(requested, "REQUESTED") if requested else ChannelDecision(STAFF_CHANNEL,
                                                                                         "STAFF_DEFAULT")
    prefs = preferences or Preferences()
    if not transactional and prefs.marketing_opt_out:
        return ChannelDecision(None, "MARKETING_OPT_OUT")
    allowed = [c for c in DEFAULT_ORDER if c not in prefs.channels_opted_out]
    if requested is not None:
        if requested not in prefs.channels_opted_out:
            return ChannelDecision(requested, "REQUESTED")
        if not transactional:
            return ChannelDecision(None, "CHANNEL_OPTED_OUT")
    if prefs.preferred_channel is not None and prefs.preferred_channel not in prefs.channels_opted_out:
        return ChannelDecision(prefs.preferred_channel, "PREFERRED")
    if allowed:
        return ChannelDecision(allowed[0], "DEFAULT_ORDER")
    if transactional:
        return ChannelDecision(TRANSACTIONAL_FALLBACK, "TRANSACTIONAL_FALLBACK")
    return ChannelDecision(None, "NO_ALLOWED_CHANNEL")
