"""The metadata daemon: LevelDB through plyvel, served over socket.io."""
