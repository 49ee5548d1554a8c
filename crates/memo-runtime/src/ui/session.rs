//! One user of an app: runs the script, keeps widget values between runs.

use super::context::{self, Run, UiError, WidgetState};
use super::element::Element;
use super::tree::{Node, Output, MAIN};
use super::widget::{Widget, WidgetValue};
use std::any::Any;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};

static RUNS: AtomicU64 = AtomicU64::new(1);

/// One user of an app (Streamlit's `AppSession`): runs the script top to
/// bottom, again after every interaction, and keeps what it drew and the
/// values of its widgets.
///
/// ```
/// use memo_runtime::{st, ui::Session};
///
/// let script = || {
///     if st::checkbox("Show") {
///         st::text("shown");
///     }
/// };
/// let mut s = Session::new();
/// assert_eq!(s.run(script).main.len(), 1);       // just the checkbox
/// s.set("Show", true).unwrap();                  // the user ticks it
/// assert_eq!(s.run(script).main.len(), 2);       // checkbox and text
/// ```
#[derive(Debug, Default)]
pub struct Session {
    widgets: WidgetState,
    output: Output,
    /// Changes to widgets inside a form, by form key, until it is submitted.
    pending: HashMap<String, HashMap<String, WidgetValue>>,
}

/// Why [`Session::set`] or [`Session::click`] refused.
///
/// ```
/// use memo_runtime::ui::{Session, SessionError};
/// let mut s = Session::new();
/// assert!(matches!(s.click("Go"), Err(SessionError::NoSuchWidget(_))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// No widget with this id or label was drawn in the last run.
    NoSuchWidget(String),
    /// The value's type does not fit the widget (text for a checkbox…).
    WrongType(String),
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::NoSuchWidget(w) => {
                write!(f, "no widget `{w}` was drawn in the last run")
            }
            SessionError::WrongType(w) => write!(f, "that value does not fit widget `{w}`"),
        }
    }
}

impl std::error::Error for SessionError {}

impl Session {
    /// A new session: no output, no widget values.
    ///
    /// ```
    /// let s = memo_runtime::ui::Session::new();
    /// assert!(s.output().main.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `script` once with this session as the thread's context, and
    /// returns what it drew. A panic in the script (a `st::` error such as
    /// `DuplicateWidgetID` included) ends the run and is shown as an
    /// `exception` element at the end of the main area, as Streamlit does.
    ///
    /// ```
    /// use memo_runtime::{st, ui::{Element, Session}};
    /// let mut s = Session::new();
    /// let out = s.run(|| {
    ///     st::text("before");
    ///     panic!("boom");
    /// });
    /// assert_eq!(out.main.len(), 2);
    /// assert_eq!(
    ///     out.main[1].as_element(),
    ///     Some(&Element::Exception { name: "panic".into(), message: "boom".into() })
    /// );
    /// ```
    pub fn run(&mut self, script: impl FnOnce()) -> &Output {
        let id = RUNS.fetch_add(1, Ordering::Relaxed);
        let prev = context::install(Run::new(id, std::mem::take(&mut self.widgets)));
        let result = catch_unwind(AssertUnwindSafe(script));
        if let Err(payload) = result {
            let (name, message) = describe(payload);
            context::with_run(|run| {
                run.cursor.truncate(1);
                run.captures.clear();
                run.tree
                    .push_element(MAIN, Element::Exception { name, message });
            });
        }
        let mut run = context::uninstall(prev);
        // Streamlit drops the state of widgets a run did not draw, and a
        // click lasts one run.
        run.widgets.values.retain(|id, _| run.used.contains(id));
        run.widgets.clicked.clear();
        self.widgets = run.widgets;
        self.output = run.tree.into_output();
        &self.output
    }

    /// What the last run drew.
    ///
    /// ```
    /// use memo_runtime::{st, ui::Session};
    /// let mut s = Session::new();
    /// s.run(|| st::balloons());
    /// assert_eq!(s.output().main.len(), 1);
    /// ```
    pub fn output(&self) -> &Output {
        &self.output
    }

    /// What the last run drew, as JSON (the form `docs/replay.md` documents).
    ///
    /// ```
    /// use memo_runtime::{st, ui::Session};
    /// let mut s = Session::new();
    /// s.run(|| st::text("hi"));
    /// assert_eq!(
    ///     s.to_json(),
    ///     r#"{"main":[{"element":{"type":"text","body":"hi"}}],"sidebar":[]}"#
    /// );
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.output).expect("an output always serializes")
    }

    /// Sets a widget's value for the next run, as if the user changed it.
    /// `widget` is its id (`"checkbox:Show"`, `"key:k"`) or its label; it
    /// must have been drawn in the last run. A widget inside a form keeps
    /// its value until the form's submit button is clicked, as in Streamlit.
    ///
    /// ```
    /// use memo_runtime::{st, ui::Session};
    /// let mut s = Session::new();
    /// s.run(|| { st::slider("n", 0.0, 10.0, 5.0); });
    /// s.set("slider:n", 7.0).unwrap();
    /// let mut seen = 0.0;
    /// s.run(|| seen = st::slider("n", 0.0, 10.0, 5.0));
    /// assert_eq!(seen, 7.0);
    /// ```
    pub fn set(&mut self, widget: &str, value: impl Into<WidgetValue>) -> Result<(), SessionError> {
        let w = self.find(widget)?;
        let value = value.into();
        if w.spec.is_trigger() || !value.same_type(&w.value) {
            return Err(SessionError::WrongType(w.id.clone()));
        }
        let id = w.id.clone();
        match w.form.clone() {
            Some(form) => {
                self.pending.entry(form).or_default().insert(id, value);
            }
            None => {
                self.widgets.values.insert(id, value);
            }
        }
        Ok(())
    }

    /// Clicks a button (or download / form submit button) for the next run:
    /// it returns `true` in that run only. A form's submit button also
    /// commits the changes made inside the form.
    ///
    /// ```
    /// use memo_runtime::{st, ui::Session};
    /// let mut s = Session::new();
    /// let mut clicked = Vec::new();
    /// let mut script = |s: &mut Session| { s.run(|| clicked.push(st::button("Go"))); };
    /// script(&mut s);
    /// s.click("Go").unwrap();
    /// script(&mut s);
    /// script(&mut s);
    /// assert_eq!(clicked, [false, true, false]);
    /// ```
    pub fn click(&mut self, button: &str) -> Result<(), SessionError> {
        let w = self.find(button)?;
        if !w.spec.is_trigger() {
            return Err(SessionError::WrongType(w.id.clone()));
        }
        let (id, form) = (w.id.clone(), w.form.clone());
        let submit = matches!(w.spec, super::widget::WidgetSpec::FormSubmitButton);
        if let (true, Some(form)) = (submit, form) {
            let changes = self.pending.remove(&form).unwrap_or_default();
            self.widgets.values.extend(changes);
        }
        self.widgets.clicked.insert(id);
        Ok(())
    }

    /// A widget's value as the next run will see it, by id or label.
    ///
    /// ```
    /// use memo_runtime::{st, ui::{Session, WidgetValue}};
    /// let mut s = Session::new();
    /// s.run(|| { st::text_input("Name", "Ann"); });
    /// assert_eq!(s.value("Name"), Some(WidgetValue::Text("Ann".into())));
    /// ```
    pub fn value(&self, widget: &str) -> Option<WidgetValue> {
        let w = self.find(widget).ok()?;
        if w.spec.is_trigger() {
            return Some(WidgetValue::Bool(self.widgets.clicked.contains(&w.id)));
        }
        self.widgets.values.get(&w.id).cloned()
    }

    fn find(&self, widget: &str) -> Result<&Widget, SessionError> {
        let mut all = Vec::new();
        collect_widgets(&self.output.main, &mut all);
        collect_widgets(&self.output.sidebar, &mut all);
        all.iter()
            .find(|w| w.id == widget)
            .or_else(|| all.iter().find(|w| w.label == widget))
            .copied()
            .ok_or_else(|| SessionError::NoSuchWidget(widget.to_string()))
    }
}

fn collect_widgets<'a>(nodes: &'a [Node], out: &mut Vec<&'a Widget>) {
    for n in nodes {
        match n {
            Node::Element(Element::Widget(w)) => out.push(w),
            Node::Element(_) => {}
            Node::Block(b) => collect_widgets(&b.children, out),
        }
    }
}

fn describe(payload: Box<dyn Any + Send>) -> (String, String) {
    let payload = match payload.downcast::<UiError>() {
        Ok(e) => return (e.name.to_string(), e.message),
        Err(p) => p,
    };
    let message = match payload.downcast::<String>() {
        Ok(s) => match UiError::from_payload(&s) {
            Some(e) => return (e.name.to_string(), e.message),
            None => *s,
        },
        Err(p) => match p.downcast::<&'static str>() {
            Ok(s) => s.to_string(),
            Err(_) => "the script panicked".to_string(),
        },
    };
    ("panic".to_string(), message)
}
