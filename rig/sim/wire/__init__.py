"""How the simulated lab is reached: SCPI, Modbus TCP and socketcand servers on loopback, the kernel's byte counts, the CAN bus."""
