"""Open the dashboard in the user's browser as soon as the local server answers.

`make run` starts Streamlit headless (a non-headless first start asks for an e-mail
address on the terminal) and runs this beside it. Without a browser it does nothing.
"""
import sys
import time
import urllib.request
import webbrowser

WAIT_SECONDS = 120


def main(url: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                webbrowser.open(url)
                return
        except OSError:
            time.sleep(0.5)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8501")
