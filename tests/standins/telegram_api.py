"""The Telegram stand-in's public face: the stand-in Bot API server, its canned faults, and the
builders of the updates Telegram sends to bots, re-exported from the modules that hold them.

* :mod:`tests.standins.telegram_server`: ``TelegramStandIn``, the Bot API server (with file
  downloads from :mod:`tests.standins.telegram_files` and webhook / ``getUpdates`` delivery
  from :mod:`tests.standins.telegram_delivery`);
* :mod:`tests.standins.telegram_faults`: failures for ``fail_next``;
* :mod:`tests.standins.telegram_updates`: updates as Telegram delivers them.

Tests import from here (``from tests.standins import telegram_api``) so they need not know
where each piece lives.
"""

from __future__ import annotations

from tests.standins.telegram_faults import bad_request as bad_request
from tests.standins.telegram_faults import blocked_by_user as blocked_by_user
from tests.standins.telegram_faults import flood_wait as flood_wait
from tests.standins.telegram_faults import server_error as server_error
from tests.standins.telegram_files import MAX_DOWNLOAD_BYTES as MAX_DOWNLOAD_BYTES
from tests.standins.telegram_server import MAX_CALLBACK_DATA_BYTES as MAX_CALLBACK_DATA_BYTES
from tests.standins.telegram_server import MAX_TEXT_CHARS as MAX_TEXT_CHARS
from tests.standins.telegram_server import NOT_MODIFIED as NOT_MODIFIED
from tests.standins.telegram_server import TelegramStandIn as TelegramStandIn
from tests.standins.telegram_updates import as_json as as_json
from tests.standins.telegram_updates import callback_update as callback_update
from tests.standins.telegram_updates import message_update as message_update
from tests.standins.telegram_updates import my_chat_member_update as my_chat_member_update
