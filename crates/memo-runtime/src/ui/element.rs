//! Static elements as data: what a front end draws, and what a cached fn's
//! recording holds.

use super::widget::Widget;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One thing drawn in a block. Serialized with a `"type"` tag naming the
/// variant in `snake_case` (`{"type": "markdown", "body": "hi"}`).
///
/// ```
/// use memo_runtime::ui::Element;
/// let e = Element::Markdown { body: "*hi*".into() };
/// assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"type":"markdown","body":"*hi*"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Element {
    /// `st::markdown`, `st::write`.
    Markdown {
        /// Markdown source.
        body: String,
    },
    /// `st::title`.
    Title {
        /// The text.
        body: String,
    },
    /// `st::header`.
    Header {
        /// The text.
        body: String,
    },
    /// `st::subheader`.
    Subheader {
        /// The text.
        body: String,
    },
    /// `st::text`: fixed-width, not markdown.
    Text {
        /// The text.
        body: String,
    },
    /// `st::caption`.
    Caption {
        /// The text.
        body: String,
    },
    /// `st::code`.
    Code {
        /// The code.
        body: String,
        /// Highlighting language, if any.
        language: Option<String>,
    },
    /// `st::latex`.
    Latex {
        /// LaTeX source.
        body: String,
    },
    /// `st::json`.
    Json {
        /// The value shown.
        value: Value,
    },
    /// `st::success`, `st::info`, `st::warning`, `st::error` (Streamlit's `alert`).
    Alert {
        /// Which of the four.
        kind: AlertKind,
        /// Markdown source.
        body: String,
    },
    /// `st::exception`, a panic in the script, and this crate's warnings.
    Exception {
        /// The error's name (`"DuplicateWidgetID"`, `"CachedStFunctionWarning"`, `"panic"`…).
        name: String,
        /// The message.
        message: String,
    },
    /// `st::metric`.
    Metric {
        /// Label.
        label: String,
        /// Value as shown.
        value: String,
        /// Change as shown (`"+1.2 °F"`), if any.
        delta: Option<String>,
    },
    /// `st::table`: static.
    Table {
        /// The data.
        data: DataFrame,
    },
    /// `st::dataframe`: interactive.
    Dataframe {
        /// The data.
        data: DataFrame,
    },
    /// `st::line_chart`, `st::area_chart`, `st::bar_chart`.
    Chart {
        /// Which chart.
        kind: ChartKind,
        /// One series per column.
        data: DataFrame,
    },
    /// `st::vega_lite_chart`, `st::plotly_chart`, `st::altair_chart`,
    /// `st::bokeh_chart`, `st::pydeck_chart`, `st::graphviz_chart`: a chart
    /// given as its library's own spec.
    ChartSpec {
        /// Whose spec it is.
        library: ChartLibrary,
        /// The spec (a DOT string for graphviz).
        spec: Value,
    },
    /// `st::image`.
    Image {
        /// The image.
        media: Media,
        /// Caption, if any.
        caption: Option<String>,
    },
    /// `st::audio`.
    Audio {
        /// The sound.
        media: Media,
    },
    /// `st::video`.
    Video {
        /// The video.
        media: Media,
    },
    /// `st::progress`.
    Progress {
        /// 0 to 100.
        value: u8,
        /// Text beside the bar, if any.
        text: Option<String>,
    },
    /// `st::spinner`, and a cached fn's miss: shown while work runs, then removed.
    Spinner {
        /// The text.
        text: String,
        /// The front end shows the elapsed time beside it.
        show_time: bool,
    },
    /// `st::balloons`.
    Balloons,
    /// `st::snow`.
    Snow,
    /// `st::html` (Streamlit's `components.v1.html`).
    Html {
        /// HTML source.
        body: String,
    },
    /// `st::iframe` (Streamlit's `components.v1.iframe`).
    Iframe {
        /// Address.
        src: String,
        /// Height in pixels, if set.
        height: Option<u32>,
    },
    /// `st::help`.
    Help {
        /// What is documented.
        name: String,
        /// Its documentation.
        doc: String,
    },
    /// `st::echo`: the code of the block that follows it.
    Echo {
        /// The code.
        code: String,
    },
    /// An input widget with its current value.
    Widget(Widget),
}

/// The four alert styles.
///
/// ```
/// use memo_runtime::ui::AlertKind;
/// assert_eq!(serde_json::to_string(&AlertKind::Success).unwrap(), r#""success""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Green.
    Success,
    /// Blue.
    Info,
    /// Yellow.
    Warning,
    /// Red.
    Error,
}

/// The three built-in charts.
///
/// ```
/// use memo_runtime::ui::ChartKind;
/// assert_eq!(serde_json::to_string(&ChartKind::Area).unwrap(), r#""area""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// `st::line_chart`.
    Line,
    /// `st::area_chart`.
    Area,
    /// `st::bar_chart`.
    Bar,
}

/// Chart libraries whose specs are passed through as data.
///
/// ```
/// use memo_runtime::ui::ChartLibrary;
/// assert_eq!(serde_json::to_string(&ChartLibrary::VegaLite).unwrap(), r#""vega_lite""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartLibrary {
    /// A Vega-Lite spec.
    VegaLite,
    /// A Plotly figure.
    Plotly,
    /// An Altair chart (a Vega-Lite spec).
    Altair,
    /// A Bokeh document.
    Bokeh,
    /// A pydeck / deck.gl spec.
    Pydeck,
    /// A DOT graph.
    Graphviz,
}

/// A table of data: named columns, rows of JSON values.
///
/// ```
/// use memo_runtime::ui::DataFrame;
/// let df = DataFrame::from_columns([("a", vec![1.0, 2.0]), ("b", vec![3.0, 4.0])]);
/// assert_eq!(df.columns, ["a", "b"]);
/// assert_eq!(df.rows[1], [serde_json::json!(2.0), serde_json::json!(4.0)]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataFrame {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each with one value per column.
    pub rows: Vec<Vec<Value>>,
}

impl DataFrame {
    /// From column names and rows.
    ///
    /// ```
    /// use memo_runtime::ui::DataFrame;
    /// let df = DataFrame::new(["name", "age"], [vec!["Ann".into(), 31.into()]]);
    /// assert_eq!(df.rows.len(), 1);
    /// ```
    pub fn new(
        columns: impl IntoIterator<Item = impl Into<String>>,
        rows: impl IntoIterator<Item = Vec<Value>>,
    ) -> Self {
        DataFrame {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: rows.into_iter().collect(),
        }
    }

    /// From named columns of equal length (a shorter column is padded with `null`).
    ///
    /// ```
    /// use memo_runtime::ui::DataFrame;
    /// let df = DataFrame::from_columns([("x", vec![1, 2, 3])]);
    /// assert_eq!(df.rows.len(), 3);
    /// ```
    pub fn from_columns<V: Into<Value>>(
        columns: impl IntoIterator<Item = (impl Into<String>, Vec<V>)>,
    ) -> Self {
        let mut names = Vec::new();
        let mut cols: Vec<Vec<Value>> = Vec::new();
        for (name, values) in columns {
            names.push(name.into());
            cols.push(values.into_iter().map(Into::into).collect());
        }
        let len = cols.iter().map(Vec::len).max().unwrap_or(0);
        let rows = (0..len)
            .map(|i| {
                cols.iter()
                    .map(|c| c.get(i).cloned().unwrap_or(Value::Null))
                    .collect()
            })
            .collect();
        DataFrame {
            columns: names,
            rows,
        }
    }
}

/// An image, sound or video: where it is, or its bytes.
///
/// ```
/// use memo_runtime::ui::Media;
/// let m = Media::url("image/png", "https://example.com/cat.png");
/// assert_eq!(m.mimetype, "image/png");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Media {
    /// `image/png`, `audio/wav`, …
    pub mimetype: String,
    /// The content.
    pub source: MediaSource,
}

/// Where a [`Media`]'s content is. Serialized as `{"url": ".."}` or
/// `{"bytes": [..]}`.
///
/// ```
/// use memo_runtime::ui::MediaSource;
/// let s = MediaSource::Url("a.png".into());
/// assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"url":"a.png"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaSource {
    /// Fetched by the front end.
    Url(String),
    /// Embedded.
    Bytes(Vec<u8>),
}

impl Media {
    /// Media at an address.
    ///
    /// ```
    /// let m = memo_runtime::ui::Media::url("video/mp4", "clip.mp4");
    /// assert!(matches!(m.source, memo_runtime::ui::MediaSource::Url(_)));
    /// ```
    pub fn url(mimetype: impl Into<String>, url: impl Into<String>) -> Self {
        Media {
            mimetype: mimetype.into(),
            source: MediaSource::Url(url.into()),
        }
    }

    /// Media given by its bytes.
    ///
    /// ```
    /// let m = memo_runtime::ui::Media::bytes("audio/wav", vec![0u8; 4]);
    /// assert_eq!(m.source, memo_runtime::ui::MediaSource::Bytes(vec![0; 4]));
    /// ```
    pub fn bytes(mimetype: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Media {
            mimetype: mimetype.into(),
            source: MediaSource::Bytes(bytes.into()),
        }
    }
}
