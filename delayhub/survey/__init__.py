"""The Citizen Feedback Survey (แบบประเมินความพึงพอใจ): after being served, people say how it went, and
the OPDC sees satisfaction per agency, service and channel. No web framework here: ``delayhub.web.survey``
serves the page.

- ``questions``  the OPDC's standard set and each agency's own questions (data/survey/), versioned in the store
- ``invite``     one invitation per event (a queue visit served, a request finished), through the outbox;
                 the tokens on the walk-in ticket and the result letter
- ``answer``     opening a link, and its one anonymous answer (masked comments, the daily roll-up)
- ``daily``      the roll-up per agency, service, channel, counter and day that the reports read
"""

from .answer import Found, Invalid, Submitted, Survey
from .invite import queue_served, request_finished, request_survey_link, requests_finished, ticket_token

__all__ = ["Found", "Invalid", "Submitted", "Survey", "queue_served", "request_finished", "request_survey_link",
           "requests_finished", "ticket_token"]
