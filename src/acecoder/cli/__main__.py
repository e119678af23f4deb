from acecoder.cli import app

app()
