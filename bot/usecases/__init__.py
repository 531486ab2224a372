"""Use cases: what Closer does for her, apart from Telegram.

Each module takes typed commands and returns typed results. A use case opens its own
transaction through the runner (``bot.storage.uow.Transactions``): ``read`` unless it says it
writes. Handlers decode an update into a command, call the use case, and render and send what
it returns; nothing here imports ``telegram`` or a handler (an import contract holds it).
"""
