"""A short personalised message per challenge: templates per language, a length limit, a send window.

Public API
----------
compose, Composer, Message, MessageHook, message_fields, MESSAGE_FIELDS
    The message of an issued challenge (:mod:`engine.messages.compose`) and its answer fields.
MessagesConfig, load_messages_config
    ``configs/messages.toml`` (:mod:`engine.messages.config`).
sms_units, sms_parts
    The unit the limit counts in, and how many SMS parts a text takes (:mod:`engine.messages.length`).
clean, shorten, graphemes
    Names made safe for a message and cut on grapheme-cluster boundaries (:mod:`engine.messages.text`).
fill
    The pure filler that keeps a message within its limit (:mod:`engine.messages.fill`).
send_at
    The first instant in office hours in the member's time zone (:mod:`engine.messages.window`).
"""

from engine.messages.compose import (
    MESSAGE_FIELDS,
    Composer,
    Message,
    MessageHook,
    choose_language,
    compose,
    message_fields,
)
from engine.messages.config import MessagesConfig, load_messages_config
from engine.messages.fill import fill
from engine.messages.length import sms_parts, sms_units
from engine.messages.text import clean, graphemes, shorten
from engine.messages.window import send_at

__all__ = [
    "MESSAGE_FIELDS",
    "Composer",
    "Message",
    "MessageHook",
    "MessagesConfig",
    "choose_language",
    "clean",
    "compose",
    "fill",
    "graphemes",
    "load_messages_config",
    "message_fields",
    "send_at",
    "shorten",
    "sms_parts",
    "sms_units",
]
