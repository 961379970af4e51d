# onestop-spoke daemon target: owned by the spoke daemon module
