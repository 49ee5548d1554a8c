//! What a script calls, named as in Streamlit: `st::markdown("..")`,
//! `st::checkbox("..")`, `st::sidebar()`, `st::columns(2)`.
//!
//! ```
//! use memo_runtime::{memo, st, ui::Session};
//!
//! #[memo]
//! fn load_data(rows: usize) -> st::DataFrame {
//!     let df = st::DataFrame::from_columns([("a", (0..rows).map(|i| i as f64).collect::<Vec<_>>())]);
//!     st::area_chart(df.clone()); // recorded, and drawn again on every hit
//!     df
//! }
//!
//! let mut session = Session::new();
//! let script = || {
//!     let df = load_data(20);
//!     st::dataframe(df);
//! };
//! let miss = session.run(script).clone();
//! let hit = session.run(script).clone();
//! assert_eq!(miss, hit);
//! assert_eq!(hit.main.len(), 2); // the chart (replayed) and the table
//! ```
//!
//! A free function writes into the *current* container: the main area, or
//! the container whose [`Container::with`] is running (Python's `with c:`).
//! A [`Container`] handle writes into its own block. Handles are cheap
//! `Copy` values that live for one run; one made inside a cached fn lives
//! until that fn returns (a cached fn can't return its containers: on a hit
//! its body does not run), and using it after is a `CachedContainerError`.
//!
//! Outside [`Session::run`](crate::ui::Session::run) every function here
//! does nothing and widgets return their defaults.

use crate::ui::context::{self, Target};
use crate::ui::{
    AlertKind, BlockKind, ChartKind, ChartLibrary, Date, Element, Time, UploadedFile, WidgetSpec,
    WidgetValue,
};
use serde_json::Value;

pub use crate::ui::{DataFrame, Media};

/// A block to write into: the sidebar, a container, an expander, a column,
/// a form. Every element and widget function is also a method here.
///
/// ```
/// use memo_runtime::{st, ui::Session};
/// let mut s = Session::new();
/// let out = s.run(|| {
///     let c = st::container();
///     st::text("below the container");
///     c.text("inside, though written later");
/// });
/// assert_eq!(out.main[0].as_block().unwrap().children.len(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Container(Target);

impl Container {
    const CURRENT: Container = Container(Target::Current);

    /// Runs `f` with this block as the current container, so that free
    /// functions inside it write here (Python's `with c:`).
    ///
    /// ```
    /// use memo_runtime::{st, ui::Session};
    /// let mut s = Session::new();
    /// let out = s.run(|| {
    ///     let e = st::expander("Details");
    ///     e.with(|| st::text("in the expander"));
    /// });
    /// assert_eq!(out.main.len(), 1);
    /// assert_eq!(out.main[0].as_block().unwrap().children.len(), 1);
    /// ```
    pub fn with<R>(self, f: impl FnOnce() -> R) -> R {
        let _leave = context::enter(self.0);
        f()
    }

    /// This block, with `key` as the id of the next widget drawn through the
    /// result (Streamlit's `key=`).
    ///
    /// ```
    /// use memo_runtime::{st, ui::Session};
    /// let mut s = Session::new();
    /// s.run(|| { st::sidebar().keyed("a").checkbox("Same label"); st::checkbox("Same label"); });
    /// assert!(s.value("key:a").is_some());
    /// ```
    pub fn keyed(self, key: &str) -> Keyed<'_> {
        Keyed {
            on: self,
            key: Some(key),
        }
    }

    fn emit(self, e: Element) {
        context::emit(self.0, e)
    }

    fn block(self, kind: BlockKind) -> Container {
        Container(context::create_block(self.0, kind).unwrap_or(Target::Current))
    }

    fn widget(self) -> Keyed<'static> {
        Keyed {
            on: self,
            key: None,
        }
    }
}

/// A block and a widget key: [`Container::keyed`], [`keyed`].
///
/// ```
/// use memo_runtime::{st, ui::Session};
/// let mut s = Session::new();
/// s.run(|| { st::keyed("n").number_input("Count", 1.0); });
/// assert_eq!(s.value("key:n"), Some(1.0.into()));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Keyed<'k> {
    on: Container,
    key: Option<&'k str>,
}

/// The sidebar.
///
/// ```
/// use memo_runtime::{st, ui::Session};
/// let mut s = Session::new();
/// let out = s.run(|| st::sidebar().markdown("menu"));
/// assert_eq!(out.sidebar.len(), 1);
/// ```
pub fn sidebar() -> Container {
    Container(context::sidebar())
}

/// The next widget drawn through the result gets `key` as its id.
///
/// ```
/// use memo_runtime::{st, ui::Session};
/// let mut s = Session::new();
/// s.run(|| { st::keyed("k1").text_input("Name", ""); st::keyed("k2").text_input("Name", ""); });
/// assert!(s.value("key:k1").is_some() && s.value("key:k2").is_some());
/// ```
pub fn keyed(key: &str) -> Keyed<'_> {
    Container::CURRENT.keyed(key)
}

/// Shows `text` with a spinner in the current container while `f` runs.
/// Spinners are transient: never recorded by a cached fn.
///
/// ```
/// use memo_runtime::{st, ui::{self, Element, Session}};
/// let mut s = Session::new();
/// let out = s.run(|| st::spinner("Working...", || {
///     let now = ui::snapshot().unwrap();
///     assert_eq!(now.main[0].as_element(), Some(&Element::Spinner { text: "Working...".into(), show_time: false }));
/// }));
/// assert!(out.main.is_empty()); // gone once `f` returned
/// ```
pub fn spinner<R>(text: impl Into<String>, f: impl FnOnce() -> R) -> R {
    let _spinner = context::spinner(text.into(), false);
    f()
}

/// Shows `code`, then runs `f` (Python's `with st.echo():`; Rust can't read
/// a block's source, so the code is passed in).
///
/// ```
/// use memo_runtime::{st, ui::{Element, Session}};
/// let mut s = Session::new();
/// let out = s.run(|| st::echo("st::text(\"hi\")", || st::text("hi")));
/// assert_eq!(out.main[0].as_element(), Some(&Element::Echo { code: "st::text(\"hi\")".into() }));
/// ```
pub fn echo<R>(code: &str, f: impl FnOnce() -> R) -> R {
    Container::CURRENT.emit(Element::Echo {
        code: code.to_string(),
    });
    f()
}

fn text_of(v: impl Into<String>) -> String {
    v.into()
}

fn opt(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

fn strings(options: &[&str]) -> Vec<String> {
    options.iter().map(|s| s.to_string()).collect()
}

/// Defines each call once, as a [`Container`] method, and again as a free
/// function on the current container, with an example for each.
macro_rules! api {
    ($(
        $(#[doc = $doc:literal])+
        ex($n:literal, $ex:literal)
        fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? => |$c:ident| $body:expr;
    )*) => {
        impl Container {$(
            $(#[doc = $doc])+
            ///
            /// ```
            /// use memo_runtime::{st, ui::*};
            /// let mut s = Session::new();
            #[doc = concat!("s.run(|| { let _ = st::sidebar().", stringify!($name), "(", $ex, "); });")]
            #[doc = concat!("assert_eq!(s.output().sidebar.len(), ", $n, ");")]
            /// ```
            pub fn $name(self, $($arg: $ty),*) $(-> $ret)? {
                let $c = self;
                $body
            }
        )*}
        $(
            $(#[doc = $doc])+
            ///
            /// In the current container; see [`Container`].
            ///
            /// ```
            /// use memo_runtime::{st, ui::*};
            /// let mut s = Session::new();
            #[doc = concat!("s.run(|| { let _ = st::", stringify!($name), "(", $ex, "); });")]
            #[doc = concat!("assert_eq!(s.output().main.len(), ", $n, ");")]
            /// ```
            pub fn $name($($arg: $ty),*) $(-> $ret)? {
                Container::CURRENT.$name($($arg),*)
            }
        )*
    };
}

/// Widget methods of [`Keyed`], and the same on [`Container`] and as free
/// functions without a key.
macro_rules! widgets {
    ($(
        $(#[doc = $doc:literal])+
        ex($ex:literal)
        fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty => |$k:ident| $body:expr;
    )*) => {
        impl Keyed<'_> {$(
            $(#[doc = $doc])+
            ///
            /// ```
            /// use memo_runtime::{st, ui::*};
            /// let mut s = Session::new();
            #[doc = concat!("s.run(|| { let _ = st::keyed(\"k\").", stringify!($name), "(", $ex, "); });")]
            /// assert!(s.to_json().contains(r#""id":"key:k""#));
            /// ```
            pub fn $name(self, $($arg: $ty),*) -> $ret {
                let $k = self;
                $body
            }
        )*}
        api! {$(
            $(#[doc = $doc])+
            ex(1, $ex)
            fn $name($($arg: $ty),*) -> $ret => |c| c.widget().$name($($arg),*);
        )*}
    };
}

impl Keyed<'_> {
    fn draw(self, label: &str, spec: WidgetSpec, default: WidgetValue) -> WidgetValue {
        context::widget(self.on.0, self.key, label, spec, default)
    }
}

fn bool_of(v: WidgetValue) -> bool {
    matches!(v, WidgetValue::Bool(true))
}

fn number_of(v: WidgetValue, default: f64) -> f64 {
    match v {
        WidgetValue::Number(n) => n,
        _ => default,
    }
}

fn text_value(v: WidgetValue) -> String {
    match v {
        WidgetValue::Text(t) => t,
        _ => String::new(),
    }
}

/// One of `options` (the first if `default` is not among them).
fn choose(label: &str, k: Keyed<'_>, spec: WidgetSpec, options: &[&str], default: &str) -> String {
    let d = if options.contains(&default) {
        default
    } else {
        options.first().copied().unwrap_or("")
    };
    text_value(k.draw(label, spec, WidgetValue::Text(d.to_string())))
}

widgets! {
    /// A button: `true` in the run right after a click, `false` otherwise.
    ex("\"Go\"")
    fn button(label: &str) -> bool => |k| bool_of(k.draw(label, WidgetSpec::Button, false.into()));

    /// A form's submit button: `true` in the run after a click.
    ex("\"Submit\"")
    fn form_submit_button(label: &str) -> bool =>
        |k| bool_of(k.draw(label, WidgetSpec::FormSubmitButton, false.into()));

    /// A checkbox, unticked at first.
    ex("\"Nuke the value\"")
    fn checkbox(label: &str) -> bool => |k| bool_of(k.draw(label, WidgetSpec::Checkbox, false.into()));

    /// A slider from `min` to `max`, at `value` at first.
    ex("\"n\", 0.0, 10.0, 5.0")
    fn slider(label: &str, min: f64, max: f64, value: f64) -> f64 =>
        |k| number_of(k.draw(label, WidgetSpec::Slider { min, max }, value.into()), value);

    /// A slider over `options`, at `value` at first.
    ex("\"Size\", &[\"S\", \"M\", \"L\"], \"M\"")
    fn select_slider(label: &str, options: &[&str], value: &str) -> String =>
        |k| choose(label, k, WidgetSpec::SelectSlider { options: strings(options) }, options, value);

    /// A drop-down of `options`; the first is chosen at first.
    ex("\"Pet\", &[\"cat\", \"dog\"]")
    fn selectbox(label: &str, options: &[&str]) -> String =>
        |k| choose(label, k, WidgetSpec::Selectbox { options: strings(options) }, options, "");

    /// A multi-choice of `options`; none chosen at first.
    ex("\"Toppings\", &[\"cheese\", \"ham\"]")
    fn multiselect(label: &str, options: &[&str]) -> Vec<String> =>
        |k| match k.draw(label, WidgetSpec::Multiselect { options: strings(options) }, WidgetValue::Texts(Vec::new())) {
            WidgetValue::Texts(t) => t,
            _ => Vec::new(),
        };

    /// Radio buttons over `options`; the first is chosen at first.
    ex("\"Mode\", &[\"fast\", \"exact\"]")
    fn radio(label: &str, options: &[&str]) -> String =>
        |k| choose(label, k, WidgetSpec::Radio { options: strings(options) }, options, "");

    /// A one-line text input holding `value` at first.
    ex("\"Name\", \"Ann\"")
    fn text_input(label: &str, value: &str) -> String =>
        |k| text_value(k.draw(label, WidgetSpec::TextInput, value.into()));

    /// A multi-line text input holding `value` at first.
    ex("\"Notes\", \"\"")
    fn text_area(label: &str, value: &str) -> String =>
        |k| text_value(k.draw(label, WidgetSpec::TextArea, value.into()));

    /// A number input holding `value` at first.
    ex("\"Count\", 3.0")
    fn number_input(label: &str, value: f64) -> f64 =>
        |k| number_of(k.draw(label, WidgetSpec::NumberInput, value.into()), value);

    /// A date input holding `value` at first.
    ex("\"Day\", Date { year: 2024, month: 1, day: 31 }")
    fn date_input(label: &str, value: Date) -> Date =>
        |k| match k.draw(label, WidgetSpec::DateInput, value.into()) {
            WidgetValue::Date(d) => d,
            _ => value,
        };

    /// A time input holding `value` at first.
    ex("\"At\", Time { hour: 9, minute: 0 }")
    fn time_input(label: &str, value: Time) -> Time =>
        |k| match k.draw(label, WidgetSpec::TimeInput, value.into()) {
            WidgetValue::Time(t) => t,
            _ => value,
        };

    /// A color picker holding `value` (`"#rrggbb"`) at first.
    ex("\"Color\", \"#ff0000\"")
    fn color_picker(label: &str, value: &str) -> String =>
        |k| text_value(k.draw(label, WidgetSpec::ColorPicker, value.into()));

    /// A button that downloads `data` as `file_name`: `true` in the run after a click.
    ex("\"Get CSV\", b\"a,b\".to_vec(), \"data.csv\"")
    fn download_button(label: &str, data: Vec<u8>, file_name: &str) -> bool =>
        |k| bool_of(k.draw(label, WidgetSpec::DownloadButton { file_name: file_name.to_string(), data }, false.into()));

    /// A file uploader: the files the user gave, none at first. Refused
    /// inside a cached fn.
    ex("\"Upload\"")
    fn file_uploader(label: &str) -> Vec<UploadedFile> =>
        |k| match k.draw(label, WidgetSpec::FileUploader, WidgetValue::Files(Vec::new())) {
            WidgetValue::Files(f) => f,
            _ => Vec::new(),
        };

    /// A camera input: the picture taken, if any. Refused inside a cached fn.
    ex("\"Smile\"")
    fn camera_input(label: &str) -> Option<UploadedFile> =>
        |k| match k.draw(label, WidgetSpec::CameraInput, WidgetValue::Files(Vec::new())) {
            WidgetValue::Files(f) => f.into_iter().next(),
            _ => None,
        };
}

api! {
    /// Markdown text.
    ex(1, "\"*hello*\"")
    fn markdown(body: impl Into<String>) => |c| c.emit(Element::Markdown { body: body.into() });

    /// Anything printable, as markdown (Streamlit's `st.write` for text and numbers).
    ex(1, "42")
    fn write(value: impl std::fmt::Display) => |c| c.emit(Element::Markdown { body: value.to_string() });

    /// A title.
    ex(1, "\"My app\"")
    fn title(body: impl Into<String>) => |c| c.emit(Element::Title { body: text_of(body) });

    /// A header.
    ex(1, "\"Data analysis\"")
    fn header(body: impl Into<String>) => |c| c.emit(Element::Header { body: text_of(body) });

    /// A subheader.
    ex(1, "\"Details\"")
    fn subheader(body: impl Into<String>) => |c| c.emit(Element::Subheader { body: text_of(body) });

    /// Fixed-width text, not markdown.
    ex(1, "\"plain\"")
    fn text(body: impl Into<String>) => |c| c.emit(Element::Text { body: text_of(body) });

    /// Small text.
    ex(1, "\"a note\"")
    fn caption(body: impl Into<String>) => |c| c.emit(Element::Caption { body: text_of(body) });

    /// A code block in `language` (`""` for none).
    ex(1, "\"let x = 1;\", \"rust\"")
    fn code(body: impl Into<String>, language: &str) => |c| c.emit(Element::Code {
        body: text_of(body),
        language: (!language.is_empty()).then(|| language.to_string()),
    });

    /// A LaTeX formula.
    ex(1, "r\"e^{i\\pi} + 1 = 0\"")
    fn latex(body: impl Into<String>) => |c| c.emit(Element::Latex { body: text_of(body) });

    /// Any serializable value, shown as JSON (`null` if it fails to serialize).
    ex(1, "&serde_json::json!({\"a\": 1})")
    fn json(value: &impl serde::Serialize) =>
        |c| c.emit(Element::Json { value: serde_json::to_value(value).unwrap_or(Value::Null) });

    /// A green message.
    ex(1, "\"Loaded model!\"")
    fn success(body: impl Into<String>) => |c| c.emit(Element::Alert { kind: AlertKind::Success, body: text_of(body) });

    /// A blue message.
    ex(1, "\"FYI\"")
    fn info(body: impl Into<String>) => |c| c.emit(Element::Alert { kind: AlertKind::Info, body: text_of(body) });

    /// A yellow message.
    ex(1, "\"Careful\"")
    fn warning(body: impl Into<String>) => |c| c.emit(Element::Alert { kind: AlertKind::Warning, body: text_of(body) });

    /// A red message.
    ex(1, "\"Failed\"")
    fn error(body: impl Into<String>) => |c| c.emit(Element::Alert { kind: AlertKind::Error, body: text_of(body) });

    /// An error, named by its type.
    ex(1, "&std::fmt::Error")
    fn exception(err: &impl std::error::Error) => |c| c.emit(Element::Exception {
        name: short_type_name(err),
        message: err.to_string(),
    });

    /// A metric with an optional change.
    ex(1, "\"Temperature\", \"70 °F\", Some(\"1.2 °F\")")
    fn metric(label: &str, value: impl std::fmt::Display, delta: Option<&str>) => |c| c.emit(Element::Metric {
        label: label.to_string(),
        value: value.to_string(),
        delta: opt(delta),
    });

    /// A static table.
    ex(1, "DataFrame::from_columns([(\"a\", vec![1, 2])])")
    fn table(data: DataFrame) => |c| c.emit(Element::Table { data });

    /// An interactive table.
    ex(1, "DataFrame::from_columns([(\"a\", vec![1, 2])])")
    fn dataframe(data: DataFrame) => |c| c.emit(Element::Dataframe { data });

    /// A line chart, one line per column.
    ex(1, "DataFrame::from_columns([(\"a\", vec![1.0, 2.0])])")
    fn line_chart(data: DataFrame) => |c| c.emit(Element::Chart { kind: ChartKind::Line, data });

    /// An area chart, one area per column.
    ex(1, "DataFrame::from_columns([(\"a\", vec![1.0, 2.0])])")
    fn area_chart(data: DataFrame) => |c| c.emit(Element::Chart { kind: ChartKind::Area, data });

    /// A bar chart, one series per column.
    ex(1, "DataFrame::from_columns([(\"a\", vec![1.0, 2.0])])")
    fn bar_chart(data: DataFrame) => |c| c.emit(Element::Chart { kind: ChartKind::Bar, data });

    /// A Vega-Lite chart from its spec.
    ex(1, "serde_json::json!({\"mark\": \"bar\"})")
    fn vega_lite_chart(spec: Value) => |c| c.emit(Element::ChartSpec { library: ChartLibrary::VegaLite, spec });

    /// A Plotly chart from its figure's JSON.
    ex(1, "serde_json::json!({\"data\": []})")
    fn plotly_chart(spec: Value) => |c| c.emit(Element::ChartSpec { library: ChartLibrary::Plotly, spec });

    /// An Altair chart from its (Vega-Lite) JSON.
    ex(1, "serde_json::json!({\"mark\": \"line\"})")
    fn altair_chart(spec: Value) => |c| c.emit(Element::ChartSpec { library: ChartLibrary::Altair, spec });

    /// A Bokeh chart from its document JSON.
    ex(1, "serde_json::json!({\"roots\": []})")
    fn bokeh_chart(spec: Value) => |c| c.emit(Element::ChartSpec { library: ChartLibrary::Bokeh, spec });

    /// A pydeck map from its deck.gl JSON.
    ex(1, "serde_json::json!({\"layers\": []})")
    fn pydeck_chart(spec: Value) => |c| c.emit(Element::ChartSpec { library: ChartLibrary::Pydeck, spec });

    /// A graph from its DOT source.
    ex(1, "\"digraph { a -> b }\"")
    fn graphviz_chart(dot: impl Into<String>) =>
        |c| c.emit(Element::ChartSpec { library: ChartLibrary::Graphviz, spec: Value::String(dot.into()) });

    /// An image with an optional caption.
    ex(1, "Media::url(\"image/png\", \"cat.png\"), Some(\"a cat\")")
    fn image(media: Media, caption: Option<&str>) => |c| c.emit(Element::Image { media, caption: opt(caption) });

    /// A sound player.
    ex(1, "Media::url(\"audio/wav\", \"a.wav\")")
    fn audio(media: Media) => |c| c.emit(Element::Audio { media });

    /// A video player.
    ex(1, "Media::url(\"video/mp4\", \"a.mp4\")")
    fn video(media: Media) => |c| c.emit(Element::Video { media });

    /// A progress bar at `value` percent (capped at 100).
    ex(1, "40, Some(\"Loading\")")
    fn progress(value: u8, text: Option<&str>) => |c| c.emit(Element::Progress { value: value.min(100), text: opt(text) });

    /// Balloons.
    ex(1, "")
    fn balloons() => |c| c.emit(Element::Balloons);

    /// Snow.
    ex(1, "")
    fn snow() => |c| c.emit(Element::Snow);

    /// Raw HTML (Streamlit's `components.v1.html`).
    ex(1, "\"<b>hi</b>\"")
    fn html(body: impl Into<String>) => |c| c.emit(Element::Html { body: text_of(body) });

    /// Another page in a frame (Streamlit's `components.v1.iframe`).
    ex(1, "\"https://example.com\", Some(300)")
    fn iframe(src: impl Into<String>, height: Option<u32>) => |c| c.emit(Element::Iframe { src: text_of(src), height });

    /// Documentation for `name` (Rust has no run-time docstrings: pass it).
    ex(1, "\"Vec::new\", \"Constructs a new, empty `Vec<T>`.\"")
    fn help(name: &str, doc: &str) => |c| c.emit(Element::Help { name: name.to_string(), doc: doc.to_string() });

    /// A container (Streamlit's `st.container()`); write into it through the handle.
    ex(1, "")
    fn container() -> Container => |c| c.block(BlockKind::Container { border: false });

    /// A container drawn with a border (`st.container(border=True)`).
    ex(1, "")
    fn bordered_container() -> Container => |c| c.block(BlockKind::Container { border: true });

    /// A collapsible section, closed at first.
    ex(1, "\"More\"")
    fn expander(label: &str) -> Container =>
        |c| c.block(BlockKind::Expander { label: label.to_string(), expanded: false });

    /// `n` side-by-side columns (one `columns` block holding `n` `column` blocks).
    ex(1, "3")
    fn columns(n: usize) -> Vec<Container> => |c| {
        let row = c.block(BlockKind::Columns);
        (0..n).map(|_| row.block(BlockKind::Column)).collect()
    };

    /// A form: widgets grouped with a submit button.
    ex(1, "\"login\"")
    fn form(key: &str) -> Container => |c| c.block(BlockKind::Form { key: key.to_string() });

    /// A slot holding one element: each write replaces what it held.
    ex(1, "")
    fn empty() -> Container => |c| c.block(BlockKind::Empty);
}

fn short_type_name<T>(_: &T) -> String {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_string()
}
