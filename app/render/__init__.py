"""HTML of the explorer's regions, from view models (``app.views``).

Each swappable region of the explorer page has one function here; the full page
(templates/explorer.html) and the htmx answer (``app.fragment``) both call it, so a region's
markup exists once. Every value that is not already ``Markup`` is escaped (``html.esc``).
"""
