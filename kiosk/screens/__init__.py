"""Kivy screens: thin renderers of view data, one ``.py`` beside one ``.kv`` each.

Arrives with issue 6.
"""
