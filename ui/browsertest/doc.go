// Package browsertest drives squall's web UI in a real headless browser
// (Debian's chromium, through chromedp) against a real dev cluster:
// ZooKeeper, nimbus and a supervisor, with the word count example running.
// Its tests are its whole content; docs/ui.md says how to run them and how
// to retake the screenshots.
package browsertest
