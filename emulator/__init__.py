"""A local emulator of the Gemini API's model-tuning service (``tunedModels``).

Same wire behaviour as the real service: an ASGI app over a SQLite store, served by uvicorn
(``tuned-models emulator``) or mounted in process as an httpx transport (``embedded``).
"""
