"""The embedded default writes each e-mail to a file of its own in var/mail/."""

from email import message_from_bytes

from django.core.mail import EmailMessage, get_connection


def test_every_message_gets_its_own_file_even_on_one_connection(tmp_path):
    connection = get_connection("crm.mail.EmailBackend", file_path=str(tmp_path))
    messages = [
        EmailMessage(f"Message {n}", "Body", "from@example.org", [f"to{n}@example.org"])
        for n in range(30)
    ]
    connection.open()
    assert connection.send_messages(messages) == 30
    connection.send_messages([EmailMessage("Last", "Body", "f@example.org", ["x@example.org"])])

    files = sorted(tmp_path.iterdir())
    assert len(files) == 31
    assert all(path.suffix == ".eml" for path in files)
    subjects = {message_from_bytes(path.read_bytes())["Subject"] for path in files}
    assert subjects == {f"Message {n}" for n in range(30)} | {"Last"}
