"""The Microsoft Teams channel: Bot Framework activities in, Adaptive Cards out.

The Bot Framework SDK (botbuilder 4.17) is imported only inside this package, so moving to the
Microsoft 365 Agents SDK later touches nothing else. Modules: ``auth`` (incoming tokens, the bot's
own token, allowed service URLs), ``activities`` (what an activity means), ``cards`` (a ``Reply`` as
an Adaptive Card, pure), ``bot`` (the turn handler: parse → conversation flow → render), ``http``
(``POST /api/messages``), ``sender`` (the worker's proactive messages), ``models``/``queries``
(claimed activities and posted cards), ``manifest`` (the app package).
"""
