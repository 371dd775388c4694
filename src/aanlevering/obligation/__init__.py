"""Register decisions, the delivery obligation and the delivery calendar.

Decisions of Zorginstituut Nederland arrive as a feed (:mod:`.feed`) or by
hand (:mod:`.decisions`) and are recorded as events (:mod:`.service`,
:mod:`.events`). The status of a registration is a projection of those
events (:mod:`.status`); :mod:`.permission` applies the law to it
(``may_deliver``, ``check_may_deliver``) and :mod:`.calendar` says which
periods are owed, due, overdue or delivered. See ``docs/obligation.md``.

This ``__init__`` imports nothing, so the event registry can load
:mod:`.events` cheaply; import from the submodules.
"""
