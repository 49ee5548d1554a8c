//! Input widgets as data: what was drawn, and the value it holds.

use serde::{Deserialize, Serialize};

/// An input widget as drawn in one run: its id, what kind it is and its
/// value in that run.
///
/// The id is `"{kind}:{label}"` (`"checkbox:Nuke the value"`), or
/// `"key:{key}"` for a widget given a key with [`st::keyed`](crate::st::keyed).
/// Two widgets with one id in one run are an error (`DuplicateWidgetID`).
///
/// ```
/// use memo_runtime::{st, ui::{Element, Session, WidgetValue}};
/// let mut s = Session::new();
/// s.run(|| { st::checkbox("On"); });
/// let Element::Widget(w) = &s.output().main[0].as_element().unwrap() else { panic!() };
/// assert_eq!((w.id.as_str(), &w.value), ("checkbox:On", &WidgetValue::Bool(false)));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Widget {
    /// Stable id: what the session's state is keyed by.
    pub id: String,
    /// Label shown.
    pub label: String,
    /// What kind, and its settings.
    pub spec: WidgetSpec,
    /// Value in this run.
    pub value: WidgetValue,
    /// The key of the form it is in: its changes wait for the form's submit
    /// button. Absent from the JSON outside a form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
}

/// The kinds of widget and their settings. Serialized with a `"kind"` tag.
///
/// ```
/// use memo_runtime::ui::WidgetSpec;
/// assert_eq!(WidgetSpec::Checkbox.name(), "checkbox");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WidgetSpec {
    /// `st::button`: `true` in the run after a click only.
    Button,
    /// `st::form_submit_button`.
    FormSubmitButton,
    /// `st::checkbox`.
    Checkbox,
    /// `st::slider`.
    Slider {
        /// Lowest value.
        min: f64,
        /// Highest value.
        max: f64,
    },
    /// `st::select_slider`.
    SelectSlider {
        /// The choices, in order.
        options: Vec<String>,
    },
    /// `st::selectbox`.
    Selectbox {
        /// The choices.
        options: Vec<String>,
    },
    /// `st::multiselect`.
    Multiselect {
        /// The choices.
        options: Vec<String>,
    },
    /// `st::radio`.
    Radio {
        /// The choices.
        options: Vec<String>,
    },
    /// `st::text_input`.
    TextInput,
    /// `st::text_area`.
    TextArea,
    /// `st::number_input`.
    NumberInput,
    /// `st::date_input`.
    DateInput,
    /// `st::time_input`.
    TimeInput,
    /// `st::color_picker`.
    ColorPicker,
    /// `st::download_button`.
    DownloadButton {
        /// File name offered.
        file_name: String,
        /// The content.
        data: Vec<u8>,
    },
    /// `st::file_uploader`.
    FileUploader,
    /// `st::camera_input`.
    CameraInput,
}

impl WidgetSpec {
    /// The Streamlit command's name (`"checkbox"`), used in ids and messages.
    ///
    /// ```
    /// use memo_runtime::ui::WidgetSpec;
    /// assert_eq!(WidgetSpec::Radio { options: vec![] }.name(), "radio");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            WidgetSpec::Button => "button",
            WidgetSpec::FormSubmitButton => "form_submit_button",
            WidgetSpec::Checkbox => "checkbox",
            WidgetSpec::Slider { .. } => "slider",
            WidgetSpec::SelectSlider { .. } => "select_slider",
            WidgetSpec::Selectbox { .. } => "selectbox",
            WidgetSpec::Multiselect { .. } => "multiselect",
            WidgetSpec::Radio { .. } => "radio",
            WidgetSpec::TextInput => "text_input",
            WidgetSpec::TextArea => "text_area",
            WidgetSpec::NumberInput => "number_input",
            WidgetSpec::DateInput => "date_input",
            WidgetSpec::TimeInput => "time_input",
            WidgetSpec::ColorPicker => "color_picker",
            WidgetSpec::DownloadButton { .. } => "download_button",
            WidgetSpec::FileUploader => "file_uploader",
            WidgetSpec::CameraInput => "camera_input",
        }
    }

    /// Whether the widget is a click, not a value: `true` for one run only.
    pub(crate) fn is_trigger(&self) -> bool {
        matches!(
            self,
            WidgetSpec::Button | WidgetSpec::FormSubmitButton | WidgetSpec::DownloadButton { .. }
        )
    }
}

/// A widget's value. Serialized as a one-key object naming its type
/// (`{"bool": true}`, `{"number": 2.5}`, `{"text": "a"}`).
///
/// ```
/// use memo_runtime::ui::WidgetValue;
/// assert_eq!(WidgetValue::from(true), WidgetValue::Bool(true));
/// assert_eq!(serde_json::to_string(&WidgetValue::from("a")).unwrap(), r#"{"text":"a"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WidgetValue {
    /// Checkbox, buttons.
    Bool(bool),
    /// Slider, number input.
    Number(f64),
    /// Text inputs, color, the chosen option of a selectbox, radio or select slider.
    Text(String),
    /// The chosen options of a multiselect.
    Texts(Vec<String>),
    /// A date.
    Date(Date),
    /// A time of day.
    Time(Time),
    /// Uploaded files (none until the user uploads).
    Files(Vec<UploadedFile>),
}

impl WidgetValue {
    /// Whether `self` can be the value of a widget that holds `like`.
    pub(crate) fn same_type(&self, like: &WidgetValue) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(like)
    }
}

impl From<bool> for WidgetValue {
    fn from(v: bool) -> Self {
        WidgetValue::Bool(v)
    }
}
impl From<f64> for WidgetValue {
    fn from(v: f64) -> Self {
        WidgetValue::Number(v)
    }
}
impl From<i32> for WidgetValue {
    fn from(v: i32) -> Self {
        WidgetValue::Number(v.into())
    }
}
impl From<&str> for WidgetValue {
    fn from(v: &str) -> Self {
        WidgetValue::Text(v.to_string())
    }
}
impl From<String> for WidgetValue {
    fn from(v: String) -> Self {
        WidgetValue::Text(v)
    }
}
impl From<Vec<String>> for WidgetValue {
    fn from(v: Vec<String>) -> Self {
        WidgetValue::Texts(v)
    }
}
impl From<Date> for WidgetValue {
    fn from(v: Date) -> Self {
        WidgetValue::Date(v)
    }
}
impl From<Time> for WidgetValue {
    fn from(v: Time) -> Self {
        WidgetValue::Time(v)
    }
}
impl From<Vec<UploadedFile>> for WidgetValue {
    fn from(v: Vec<UploadedFile>) -> Self {
        WidgetValue::Files(v)
    }
}

/// A calendar date.
///
/// ```
/// let d = memo_runtime::ui::Date { year: 2024, month: 2, day: 29 };
/// assert_eq!(serde_json::to_string(&d).unwrap(), r#"{"year":2024,"month":2,"day":29}"#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Date {
    /// Year.
    pub year: i32,
    /// 1 to 12.
    pub month: u8,
    /// 1 to 31.
    pub day: u8,
}

/// A time of day.
///
/// ```
/// let t = memo_runtime::ui::Time { hour: 9, minute: 30 };
/// assert_eq!(u32::from(t.hour) * 60 + u32::from(t.minute), 570);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Time {
    /// 0 to 23.
    pub hour: u8,
    /// 0 to 59.
    pub minute: u8,
}

/// A file given to a `file_uploader` or `camera_input`.
///
/// ```
/// let f = memo_runtime::ui::UploadedFile { name: "a.csv".into(), mimetype: "text/csv".into(), bytes: b"x,y".to_vec() };
/// assert_eq!(f.bytes.len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadedFile {
    /// File name.
    pub name: String,
    /// Type.
    pub mimetype: String,
    /// Content.
    pub bytes: Vec<u8>,
}
