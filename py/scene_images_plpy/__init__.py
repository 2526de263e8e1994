"""The thin layer between PostgreSQL and `scene_images_core`: the only code that touches `plpy`.

PL/Python function bodies are one import and one call into these modules; they read settings
and write rows through prepared statements, and run the core's fetch/inspect/store steps.
"""
