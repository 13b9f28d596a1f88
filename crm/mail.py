"""The embedded default's e-mail backend: each message in a file of its own in var/mail/.

Django's file backend names a file by the second and the connection object's id, and appends
every message of a connection to it; ids are reused once an object is freed, so two messages
sent in the same second could land in one file. Here every message gets a fresh, unique
``<time>-<random>.eml`` file, which a mail client opens as it is."""

from __future__ import annotations

import datetime
import os
import uuid

from django.core.mail.backends import filebased


class EmailBackend(filebased.EmailBackend):
    def _get_filename(self):
        if self._fname is None:
            timestamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            name = f"{timestamp}-{uuid.uuid4().hex[:12]}.eml"
            self._fname = os.path.join(self.file_path, name)
        return self._fname

    def write_message(self, message):
        # The message as it would travel, without the console backend's separator line.
        self.stream.write(message.message().as_bytes(linesep="\n"))

    def open(self):
        # A file is made per message, in send_messages; opening the connection makes none.
        return False

    def send_messages(self, email_messages):
        sent = 0
        for message in email_messages:
            self._fname = None
            with self._lock, open(self._get_filename(), "ab") as self.stream:  # noqa: PTH123
                self.write_message(message)
            self.stream = None
            sent += 1
        return sent
