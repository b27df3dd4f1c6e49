"""Kivy only: thin renderers of the session's view data, one ``.py`` beside one ``.kv``
per screen, the window and the sounds. Nothing here decides anything."""
