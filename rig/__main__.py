"""``python -m rig``: the same as the ``rig`` command."""

from rig.launch import main

main()
