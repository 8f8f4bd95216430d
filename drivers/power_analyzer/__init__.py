"""Power analyzer drivers (the ``analyzer`` role, ``rig.core.roles.PowerAnalyzer``)."""
