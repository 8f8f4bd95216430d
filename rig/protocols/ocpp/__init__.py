"""OCPP-J as the rig needs it to judge a charger: frames, subprotocols, identities, schemas.

Shared by the CSMS role (``drivers/csms``) and, later, the simulated
charger's OCPP face. The ``ocpp`` package supplies the OCA JSON schemas and
payload types; the framing is the rig's own, because a judge must see every
frame as it was sent, including the ones the package would drop or refuse
(``shared/reference/ocpp-cases.md`` §2: malformed frames silently dropped,
1.6's FormationViolation spelt FormatViolation, late replies discarded).
"""
