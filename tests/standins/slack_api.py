"""The Slack stand-in's public face: the stand-in Web API server, its canned faults, and the
builders of what Slack sends to our app, re-exported from the modules that hold them.

* :mod:`tests.standins.slack_server`: ``SlackStandIn``, the Web API server (with file
  transfers from :mod:`tests.standins.slack_files` and Socket Mode from
  :mod:`tests.standins.slack_socket_mode`);
* :mod:`tests.standins.slack_faults`: failures for ``fail_next``;
* :mod:`tests.standins.slack_payloads`: signed Events API / interactivity requests and Socket
  Mode envelopes;
* :mod:`tests.standins.slack_ids`: the workspace, app and bot ids both sides use.

Tests import from here (``from tests.standins import slack_api``) so they need not know
where each piece lives.
"""

from __future__ import annotations

from tests.standins.slack_faults import api_error as api_error
from tests.standins.slack_faults import rate_limited as rate_limited
from tests.standins.slack_faults import server_error as server_error
from tests.standins.slack_ids import APP_ID as APP_ID
from tests.standins.slack_ids import BOT_ID as BOT_ID
from tests.standins.slack_ids import BOT_USER_ID as BOT_USER_ID
from tests.standins.slack_ids import TEAM_ID as TEAM_ID
from tests.standins.slack_payloads import block_action_form as block_action_form
from tests.standins.slack_payloads import block_action_payload as block_action_payload
from tests.standins.slack_payloads import event_envelope as event_envelope
from tests.standins.slack_payloads import events_api_envelope as events_api_envelope
from tests.standins.slack_payloads import interactive_envelope as interactive_envelope
from tests.standins.slack_payloads import signed_headers as signed_headers
from tests.standins.slack_payloads import slash_command_envelope as slash_command_envelope
from tests.standins.slack_payloads import socket_envelope as socket_envelope
from tests.standins.slack_payloads import thread_reply_event as thread_reply_event
from tests.standins.slack_server import SlackStandIn as SlackStandIn
from tests.standins.slack_socket_mode import SOCKET_MODE_PATH as SOCKET_MODE_PATH
