"""Learner progress reports, shared by choice, and the class view built from them.

``model.py`` is the versioned report format; ``build.py`` makes a learner's report from their own
store; ``exchange.py`` drops it into a course's exchange folder; ``classview.py`` aggregates many
reports into ``class.json``; ``html.py`` and ``plots.py`` render the self-contained class page.
"""
