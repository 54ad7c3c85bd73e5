"""Call recordings and voicemail: callbacks, the one writer, listening, retention."""
