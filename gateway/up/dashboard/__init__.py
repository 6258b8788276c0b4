"""The browser dashboard of a running ``up``: its server (:mod:`.server`) and its page (``static/``)."""
