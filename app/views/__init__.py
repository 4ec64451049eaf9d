"""View models: a ``Configuration`` and its ``WalkResult`` turned into plain, immutable data
for the renderers (``app.render``), region by region. Presentation only: every architectural
answer comes from ``model``; no markup here (a bit grid is its layout, value and control).

``page``       the whole page of a state (``explorer_view``) and its small regions
``registers``  the regime's registers
``walk``       the walk: input address, cards, output, attributes, permissions, fault
``common``     number text, ids, bit grids and field help as data
"""

from app.views.page import ExplorerView, explorer_view
from app.views.walk import CardView, card_slots, card_view

__all__ = ["CardView", "ExplorerView", "card_slots", "card_view", "explorer_view"]
