Attribute VB_Name = "GxsheetRibbon"
' gxsheet Excel add-in: ribbon callbacks. The tab and its buttons are defined in customUI.xml;
' each onAction there names one of the Public Subs below (module-qualified).
'
' Every button runs one function of the Python module gxsheet.excel.addin through xlwings' RunPython
' (module "xlwings" of this same VBA project, settings from the hidden "xlwings.conf" sheet).
' Python-side errors are reported by xlwings / gxsheet.excel.addin themselves. A failure on the VBA side
' (xlwings cannot start Python, the call is refused, ...) is caught here and shown as a Chinese
' message box instead of a raw VBA error dialog.
'
' This file is pure ASCII on purpose: VBA stores module source in the project's ANSI code page,
' so Chinese literals would turn into mojibake under another Windows system locale and on Mac
' Excel. Chinese text is built at run time from Unicode code points by Zh(); the test suite decodes
' these code points and checks them against the button labels.
Option Explicit

Public Sub GxValidate(control As IRibbonControl)
    On Error GoTo Failed
    RunPython "import gxsheet.excel.addin; gxsheet.excel.addin.validate_active()"
    Exit Sub
Failed:
    ShowFailure Zh("6821 9A8C"), Err.Number, Err.Description
End Sub

Public Sub GxExportText(control As IRibbonControl)
    On Error GoTo Failed
    RunPython "import gxsheet.excel.addin; gxsheet.excel.addin.export_active()"
    Exit Sub
Failed:
    ShowFailure Zh("5BFC 51FA 6587 672C"), Err.Number, Err.Description
End Sub

Public Sub GxNewTemplate(control As IRibbonControl)
    On Error GoTo Failed
    RunPython "import gxsheet.excel.addin; gxsheet.excel.addin.new_template()"
    Exit Sub
Failed:
    ShowFailure Zh("65B0 5EFA 6A21 677F"), Err.Number, Err.Description
End Sub

Private Sub ShowFailure(ByVal action As String, ByVal errNumber As Long, ByVal errText As String)
    ' Message: <action> failed: <error text> (<number>), then a hint to check Python and gxsheet
    ' and to reinstall the add-in (which rewrites the interpreter path in xlwings.conf).
    On Error Resume Next
    MsgBox Zh("300C") & action & Zh("300D 64CD 4F5C 5931 8D25 FF1A") & vbCrLf & _
        errText & " (" & errNumber & ")" & vbCrLf & vbCrLf & _
        Zh("8BF7 786E 8BA4 672C 673A 5DF2 5B89 88C5") & " Python " & Zh("548C") & " gxsheet" & _
        Zh("FF0C 7136 540E 91CD 65B0 5B89 88C5 52A0 8F7D 9879 3002"), _
        vbExclamation, "gxsheet"
End Sub

Private Function Zh(ByVal codePoints As String) As String
    ' Space-separated hexadecimal UTF-16 code units -> String, e.g. Zh("6821 9A8C").
    Dim parts() As String
    Dim i As Long
    Dim code As Long
    parts = Split(codePoints, " ")
    For i = LBound(parts) To UBound(parts)
        code = CLng("&H" & parts(i))
        If code < 0 Then code = code + &H10000
        Zh = Zh & ChrW(code)
    Next i
End Function
