"""``python -m rig``: the same as the ``rig`` command."""

from rig.run.launch import main

main()
