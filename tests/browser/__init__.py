"""Real-browser tests: headless Debian Chromium driven by Playwright's sync API, on a phone-sized viewport."""
