"""What the explorer works with, on top of the architecture core: whole configurations and
their presets, the background memory a walk reads where the user set nothing, the quick actions
on registers and descriptors, two walks compared, and the plain-text rendering of a walk."""
