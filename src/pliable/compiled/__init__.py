"""The compiled-program JSON schema: save, load and render (issue 4).

Signatures already have their stable JSON form (``Signature.to_dict`` / ``from_dict``).
"""
