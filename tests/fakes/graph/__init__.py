"""A faithful fake of the parts of Microsoft Graph (v1.0, Outlook mail) and Entra ID (v2.0 token endpoint) that
mailcrm calls, built from Microsoft's documented requests and responses (/work/shared/exchange-samples/graph and
learn.microsoft.com), so a client written against real Graph semantics can be tested end to end over HTTPS:
delta query with paging and deltaLink, `$value`, PATCH of read/flag/categories, drafts, send and sendMail,
JSON batching, subscriptions with validation and notifications, msal's token requests, and faults (429 with
Retry-After, 5xx, 410 on a stale delta token, slow replies, the mailbox concurrency and rate limits).

Modules by concern: `fake` (the `GraphFake` a test holds, `running_graph`), `server` (HTTPS transport),
`dispatch` (auth, mailbox resolution, limits, recording), `entra` and `client_assertion` (tenant and tokens),
`mailbox` (state and change journal), `mime` and `message_json` (resource shapes), `mail_api` (mailbox
endpoints), `delta`, `batch`, `subscriptions`, `faults`, `replies` (reply and error shapes), `fixtures`."""

from tests.fakes.graph.dispatch import Recorded
from tests.fakes.graph.entra import FakeApp
from tests.fakes.graph.fake import GraphFake, running_graph
from tests.fakes.graph.mailbox import FakeMailbox, FakeMessage

__all__ = ["FakeApp", "FakeMailbox", "FakeMessage", "GraphFake", "Recorded", "running_graph"]
