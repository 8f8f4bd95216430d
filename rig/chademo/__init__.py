"""CHAdeMO: the protocol layer (DBC, messages), trace reading, session reconstruction and the
compliance rules that judge a session, recorded live by the rig or read from a trace file."""
