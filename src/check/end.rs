//! How one flow ended, as one fact: the session's own last word ([`Event::Finished`]) or
//! the driver's (the link failed, the deadline passed), with how far the session got.
//! Built once per flow ([`FlowEnd::new`]); the outcome's answer and the report read it.
//!
//! [`Event::Finished`]: crate::proto::Event::Finished

use crate::net::Ending;
use crate::proto::{Progress, Why};
use crate::wire::Auth;

use super::outcome::Answer;

/// How a check's flow ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowEnd {
    /// The session finished by itself: how far it got, and why it stopped. `then`: the
    /// link failed (or the deadline passed) while its last packets were still going out.
    Finished {
        reached: Progress,
        why: Why,
        then: Option<Ending>,
    },
    /// The driver ended the flow before the session finished: the link failed or the
    /// deadline passed (`ending`), the session as far as it got.
    Cut { reached: Progress, ending: Ending },
}

impl FlowEnd {
    /// The one place the session's word and the driver's meet: `finished`, the session's
    /// last event if it came; `ending`, how the driver ended the flow, if it did;
    /// `progress`, how far the session got, read when it said nothing.
    pub(crate) fn new(
        finished: Option<(Progress, Why)>,
        ending: Option<Ending>,
        progress: Progress,
    ) -> FlowEnd {
        match (finished, ending) {
            (Some((reached, why)), then) => FlowEnd::Finished { reached, why, then },
            (None, Some(ending)) => FlowEnd::Cut {
                reached: progress,
                ending,
            },
            // The driver ends every flow it runs one way or the other; one it left running
            // ran out of time.
            (None, None) => FlowEnd::Cut {
                reached: progress,
                ending: Ending::TimedOut,
            },
        }
    }

    /// How far the session got.
    pub fn reached(&self) -> Progress {
        match self {
            FlowEnd::Finished { reached, .. } | FlowEnd::Cut { reached, .. } => *reached,
        }
    }

    /// The server proved its certificate.
    pub fn established(&self) -> bool {
        self.reached() >= Progress::Established
    }

    /// The session's own reason, when it finished by itself.
    pub fn why(&self) -> Option<Why> {
        match self {
            FlowEnd::Finished { why, .. } => Some(*why),
            FlowEnd::Cut { .. } => None,
        }
    }

    /// How the link failed or the deadline passed, when it did.
    pub fn cut(&self) -> Option<&Ending> {
        match self {
            FlowEnd::Finished { then, .. } => then.as_ref(),
            FlowEnd::Cut { ending, .. } => Some(ending),
        }
    }

    /// What ended the link, as the words say it: how it failed, else the time that ran
    /// out (a session that stopped by itself stopped waiting).
    pub fn ending(&self) -> Ending {
        self.cut().cloned().unwrap_or(Ending::TimedOut)
    }

    /// What became of the hard reset. The server's reset for our session (`answered`)
    /// decides, whatever came after it; without one, how the flow ended. `bad_auth`: a
    /// reset for our session came whose HMAC or tag did not verify.
    pub(crate) fn answer(&self, answered: Option<Auth>, bad_auth: bool) -> Answer {
        if let Some(auth) = answered {
            return Answer::Answered(auth);
        }
        match self {
            // `--no-validation`: whatever came back.
            FlowEnd::Finished {
                why: Why::Responded,
                ..
            } => Answer::Responded,
            // Only resets with a bad HMAC came: the server is up, our key is not its key.
            FlowEnd::Finished {
                why: Why::BadAuth, ..
            } => Answer::BadAuth,
            // The link failed or the deadline passed while such a reset was the best answer.
            FlowEnd::Cut { .. } if bad_auth => Answer::BadAuth,
            FlowEnd::Cut { ending, .. } => Answer::Failed(ending.clone()),
            // No valid answer to the last attempt in its time.
            FlowEnd::Finished {
                why: Why::Silence { .. },
                ..
            } => Answer::Failed(Ending::TimedOut),
            // Every other reason comes after the server's reset (the reset stage's
            // `Reached`, the TLS and login stages): none is left without one.
            FlowEnd::Finished {
                why:
                    Why::Reached
                    | Why::HelloUnanswered
                    | Why::Probed
                    | Why::Failed
                    | Why::Withheld
                    | Why::Unsupported
                    | Why::NoEchoPath
                    | Why::EchoesMissing { .. }
                    | Why::NoDnsPath
                    | Why::DnsUnanswered { .. }
                    | Why::NoTcpPath
                    | Why::TcpUnanswered { .. }
                    | Why::NoHttpPath
                    | Why::HttpUnanswered { .. },
                ..
            } => Answer::Failed(Ending::TimedOut),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_end_from_the_sessions_word_and_the_drivers() {
        let p = Progress::HelloSent;
        // The session's word stands; a link that failed after it is kept beside it.
        assert_eq!(
            FlowEnd::new(
                Some((Progress::Established, Why::Reached)),
                Some(Ending::Closed),
                p
            ),
            FlowEnd::Finished {
                reached: Progress::Established,
                why: Why::Reached,
                then: Some(Ending::Closed)
            }
        );
        // Without it, the driver's, the session as far as it got.
        let cut = FlowEnd::new(None, Some(Ending::Reset), p);
        assert_eq!(
            cut,
            FlowEnd::Cut {
                reached: p,
                ending: Ending::Reset
            }
        );
        assert_eq!(
            (cut.reached(), cut.why(), cut.ending()),
            (p, None, Ending::Reset)
        );
        // A session that stopped waiting: the words say time ran out.
        let quiet = FlowEnd::new(Some((p, Why::HelloUnanswered)), None, p);
        assert_eq!((quiet.cut(), quiet.ending()), (None, Ending::TimedOut));
        assert!(!quiet.established());
        assert_eq!(FlowEnd::new(None, None, p).cut(), Some(&Ending::TimedOut));
    }

    #[test]
    fn the_answer_from_how_the_flow_ended() {
        let end = |why: Option<Why>, ending: Option<Ending>| {
            FlowEnd::new(
                why.map(|w| (Progress::ResetSent, w)),
                ending,
                Progress::ResetSent,
            )
        };
        // The server's reset decides, whatever ended the flow after it.
        for e in [
            end(Some(Why::HelloUnanswered), None),
            end(None, Some(Ending::Reset)),
            end(Some(Why::Reached), Some(Ending::Closed)),
        ] {
            assert_eq!(
                e.answer(Some(Auth::Verified), false),
                Answer::Answered(Auth::Verified)
            );
        }
        assert_eq!(
            end(Some(Why::Responded), None).answer(None, false),
            Answer::Responded
        );
        assert_eq!(
            end(Some(Why::BadAuth), None).answer(None, true),
            Answer::BadAuth
        );
        assert_eq!(
            end(None, Some(Ending::TimedOut)).answer(None, true),
            Answer::BadAuth
        );
        assert_eq!(
            end(Some(Why::Silence { attempts: 2 }), None).answer(None, false),
            Answer::Failed(Ending::TimedOut)
        );
        assert_eq!(
            end(None, Some(Ending::Refused)).answer(None, false),
            Answer::Failed(Ending::Refused)
        );
    }
}
