"""The central queue (ระบบการจองคิวกลาง): booking a place at an agency on three channels — walk-in at the
agency's kiosk, the web ahead of time, and a phone near the agency (1–2 km) for today's queue — with each
agency's daily capacity per service split across channels and time slots, on working days of the one
Thai government calendar. No web framework here: ``delayhub.web.queue_api`` and ``queue_pages`` serve it.

- ``settings``  each agency's ``data/queue/<CODE>.yaml``, validated with the file and field named
- ``rules``     who books (national ID check digit or Thai mobile number), distance, signed tokens
- ``booking``   slots, bookings and queue numbers on the hub store; capacity enforced by the database
- ``fastpath``  the booking statement from async code (PostgreSQL: one round trip, no ORM)
- ``otp``       one-time SMS codes through the outbox
- ``ticket``    the walk-in's 80 mm paper ticket (typst)
- ``messages``  the SMS texts
"""
