"""What every OCPP suite shares: cases as steps (script), the rig's answers as central system, the player that runs
them against the charger, the checks at the instruments (metering) and the frames as evidence."""
