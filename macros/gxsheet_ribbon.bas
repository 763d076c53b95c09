Attribute VB_Name = "GxsheetRibbon"
' gxsheet Excel add-in: ribbon callbacks. The tab and its buttons are defined in customUI.xml;
' each onAction there names one of the Public Subs below (module-qualified).
'
' Every button runs one function of the Python module gxsheet.excel.addin through xlwings' RunPython
' (module "xlwings" of this same VBA project, settings from the hidden "xlwings.conf" sheet).
' Before RunPython, ReadyFor() runs the guards, in this order, and shows a Chinese message box
' instead of calling Python when one of them finds a problem:
'   1. EditModeProblem    - Excel is editing a cell (macros cannot change the workbook then)
'   2. WorkbookProblem    - no active workbook, or only one in Protected View (buttons that need one)
'   3. InterpreterProblem - the interpreter in xlwings.conf is missing, not a program, or (UDF server)
'                           lacks xlwings' DLL; otherwise xlwings shows "Could not find Interpreter!"
'   4. ProbeProblem       - a quick run of that Python: gxsheet and xlwings (the pinned version)
'                           import; otherwise xlwings shows Python's English traceback
' Python-side failures are turned into Chinese messages by gxsheet.excel.addin itself. A failure on
' the VBA side (the call is refused, ...) is caught here and shown by ShowFailure.
'
' This file is pure ASCII on purpose: VBA stores module source in the project's ANSI code page,
' so Chinese literals would turn into mojibake under another Windows system locale and on Mac
' Excel. Chinese text is built at run time from Unicode code points by Zh(); the test suite decodes
' these code points and checks them against the button labels and the documented messages.
Option Explicit

' Exit codes of the probe (PROBE_CODE): what the interpreter lacks.
Private Const PROBE_NO_GXSHEET As Long = 3
Private Const PROBE_NO_XLWINGS As Long = 4
Private Const PROBE_WRONG_XLWINGS As Long = 5

' The interpreter that last passed the probe in this Excel session: the probe costs one Python
' start (about a second), so it runs once per session and again only after a failure.
Private probedInterpreter As String

Public Sub GxValidate(control As IRibbonControl)
    On Error GoTo Failed
    If Not ReadyFor(Zh("6821 9A8C"), True) Then Exit Sub
    RunPython "import gxsheet.excel.addin; gxsheet.excel.addin.validate_active()"
    Exit Sub
Failed:
    ShowFailure Zh("6821 9A8C"), Err.Number, Err.Description
End Sub

Public Sub GxExportText(control As IRibbonControl)
    On Error GoTo Failed
    If Not ReadyFor(Zh("5BFC 51FA 6587 672C"), True) Then Exit Sub
    RunPython "import gxsheet.excel.addin; gxsheet.excel.addin.export_active()"
    Exit Sub
Failed:
    ShowFailure Zh("5BFC 51FA 6587 672C"), Err.Number, Err.Description
End Sub

Public Sub GxNewTemplate(control As IRibbonControl)
    Dim scratch As Workbook
    On Error GoTo Failed
    If Not ReadyFor(Zh("65B0 5EFA 6A21 677F"), False) Then Exit Sub
    Set scratch = WindowForXlwings()
    RunPython "import gxsheet.excel.addin; gxsheet.excel.addin.new_template()"
    CloseScratch scratch
    Exit Sub
Failed:
    CloseScratch scratch
    ShowFailure Zh("65B0 5EFA 6A21 677F"), Err.Number, Err.Description
End Sub

Private Function ReadyFor(ByVal action As String, ByVal needBook As Boolean) As Boolean
    ' True when RunPython may be called; otherwise the first problem found is shown.
    Dim problem As String
    problem = EditModeProblem(action)
    If problem = "" And needBook Then problem = WorkbookProblem(action)
    If problem = "" Then problem = InterpreterProblem()
    If problem = "" Then problem = ProbeProblem()
    If problem <> "" Then
        MsgBox problem, vbExclamation, Zh("653F 52A1 516C 5F00 5E74 62A5 0020 00B7 0020") & action
        Exit Function
    End If
    ReadyFor = True
End Function

Private Function EditModeProblem(ByVal action As String) As String
    ' While a cell is being edited Excel disables its own "New" command; macros cannot change
    ' the workbook then. Late bound (Object), so a missing member never stops the module compiling.
    Dim bars As Object
    Dim enabled As Boolean
    #If Mac Then
        Exit Function
    #End If
    enabled = True
    On Error Resume Next
    Set bars = Application.CommandBars
    enabled = bars.GetEnabledMso("FileNewDefault")
    On Error GoTo 0
    If Not enabled Then
        ' Excel is editing a cell; press Enter or Esc first, then click the button again.
        EditModeProblem = Zh("0045 0078 0063 0065 006C 0020 6B63 5728 7F16 8F91 5355 5143 683C FF0C 65E0 6CD5") & action & Zh("3002") & vbCrLf & vbCrLf & _
            Zh("8BF7 5148 6309 0020 0045 006E 0074 0065 0072 FF08 786E 8BA4 8F93 5165 FF09 6216 0020 0045 0073 0063 FF08 53D6 6D88 8F93 5165 FF09 7ED3 675F 7F16 8F91 FF0C 518D 70B9 201C") & action & Zh("201D 3002")
    End If
End Function

Private Function WorkbookProblem(ByVal action As String) As String
    ' No active workbook: nothing open, or the active window is in Protected View (ActiveWorkbook
    ' is Nothing there; ActiveProtectedViewWindow exists in Windows Excel 2010+, hence late bound).
    Dim app As Object
    Dim pv As Object
    Dim caption As String
    If Not ActiveWorkbook Is Nothing Then Exit Function
    Set app = Application
    On Error Resume Next
    Set pv = app.ActiveProtectedViewWindow
    If Not pv Is Nothing Then caption = pv.Caption
    On Error GoTo 0
    If Not pv Is Nothing Then
        ' "<file>" is open in Protected View; click Enable Editing on the yellow bar first.
        WorkbookProblem = Zh("201C") & caption & Zh("201D 5728 53D7 4FDD 62A4 7684 89C6 56FE 4E2D 6253 5F00 FF08 6765 81EA 7F51 7EDC 3001 90AE 4EF6 9644 4EF6 7B49 4F4D 7F6E 7684 6587 4EF6 FF09 FF0C 52A0 8F7D 9879 4E0D 80FD 8BFB 53D6 5B83 3002") & _
            vbCrLf & vbCrLf & Zh("8BF7 5148 70B9 7A97 53E3 4E0A 65B9 9EC4 8272 63D0 793A 680F 4E2D 7684 201C 542F 7528 7F16 8F91 201D FF0C 518D 70B9 201C") & action & Zh("201D 3002")
    Else
        ' No workbook is open; open the report workbook, switch to it, click again.
        WorkbookProblem = Zh("6CA1 6709 6253 5F00 7684 5DE5 4F5C 7C3F 3002") & vbCrLf & vbCrLf & _
            Zh("8BF7 5148 6253 5F00 8981") & action & Zh("7684 5E74 62A5 5DE5 4F5C 7C3F FF0C 5E76 5207 6362 5230 5B83 FF0C 518D 70B9 201C") & action & Zh("201D 3002")
    End If
End Function

Private Function Interpreter() As String
    ' The interpreter RunPython will start, read exactly as xlwings' RunPython reads it.
    #If Mac Then
        Interpreter = GetConfig("INTERPRETER_MAC", "")
    #Else
        Interpreter = GetConfig("INTERPRETER_WIN", "")
    #End If
    If Interpreter = "" Then Interpreter = GetConfig("INTERPRETER", "python")
End Function

Private Function ConsolePython(ByVal path As String) As String
    ' python.exe beside pythonw.exe: the one to type commands with (pythonw prints nothing).
    ConsolePython = Replace(path, "pythonw.exe", "python.exe", 1, -1, vbTextCompare)
End Function

Private Function UsesUdfServer() As Boolean
    ' Read as xlwings' RunPython reads it (into a Boolean).
    UsesUdfServer = GetConfig("USE UDF SERVER", False)
End Function

Private Function ReinstallHint() As String
    ' How to write the right interpreter into the add-in again.
    ReinstallHint = Zh("8BF7 5728 88C5 6709 0020 0067 0078 0073 0068 0065 0065 0074 0020 7684 0020 0050 0079 0074 0068 006F 006E 0020 4E2D 8FD0 884C FF1A 0070 0079 0074 0068 006F 006E 0020 002D 006D 0020 0067 0078 0073 0068 0065 0065 0074 0020 0061 0064 0064 0069 006E 0020 0069 006E 0073 0074 0061 006C 006C FF08 79BB 7EBF 5B89 88C5 5305 8BF7 8FD0 884C 5176 4E2D 7684 0020 0069 006E 0073 0074 0061 006C 006C 002E 0063 006D 0064 FF09 FF0C 7136 540E 91CD 65B0 542F 52A8 0020 0045 0078 0063 0065 006C 3002")
End Function

Private Function InterpreterProblem() As String
    Dim path As String
    Dim dll As String
    Dim fso As Object
    path = Interpreter()
    #If Mac Then
        ' The sandboxed Mac Excel cannot look outside its container; only an empty setting is caught.
        If GetConfig("INTERPRETER_MAC", "") = "" Then
            InterpreterProblem = Zh("52A0 8F7D 9879 4E2D 6CA1 6709 8BB0 5F55 0020 0050 0079 0074 0068 006F 006E 0020 7684 4F4D 7F6E FF08 8FD9 4E2A 0020 0067 0078 0073 0068 0065 0065 0074 002E 0078 006C 0061 006D 0020 6CA1 6709 7ECF 8FC7 5B89 88C5 FF09 3002") & vbCrLf & vbCrLf & ReinstallHint()
        End If
        Exit Function
    #End If
    If LCase$(path) = "python" Or LCase$(path) = "pythonw" Then Exit Function ' found on PATH by the probe
    Set fso = CreateObject("Scripting.FileSystemObject")
    If Not fso.FileExists(path) Then
        If fso.FolderExists(path) Then
            ' The recorded Python path is a folder, not a program.
            InterpreterProblem = Zh("52A0 8F7D 9879 8BB0 5F55 7684 0020 0050 0079 0074 0068 006F 006E 0020 8DEF 5F84 662F 4E00 4E2A 6587 4EF6 5939 FF0C 4E0D 662F 53EF 4EE5 8FD0 884C 7684 7A0B 5E8F FF1A") & vbCrLf & path & vbCrLf & vbCrLf & ReinstallHint()
        Else
            ' The recorded Python is gone: uninstalled, upgraded elsewhere, or the user folder changed.
            InterpreterProblem = Zh("627E 4E0D 5230 52A0 8F7D 9879 8BB0 5F55 7684 0020 0050 0079 0074 0068 006F 006E FF1A") & vbCrLf & path & vbCrLf & _
                Zh("0050 0079 0074 0068 006F 006E 0020 53EF 80FD 5DF2 88AB 5378 8F7D 3001 5347 7EA7 540E 6362 4E86 6587 4EF6 5939 FF0C 6216 8FD9 53F0 7535 8111 7684 7528 6237 6587 4EF6 5939 53D8 4E86 3002") & vbCrLf & vbCrLf & ReinstallHint()
        End If
        Exit Function
    End If
    If LCase$(Right$(path, 4)) <> ".exe" Then
        ' Not a program (.exe) that Windows can start.
        InterpreterProblem = Zh("52A0 8F7D 9879 8BB0 5F55 7684 0020 0050 0079 0074 0068 006F 006E 0020 8DEF 5F84 4E0D 662F 53EF 4EE5 8FD0 884C 7684 7A0B 5E8F FF08 002E 0065 0078 0065 FF09 FF1A") & vbCrLf & path & vbCrLf & vbCrLf & ReinstallHint()
        Exit Function
    End If
    If UsesUdfServer() Then
        ' The background Python (UDF server) loads xlwings' DLL from the Python folder or its parent.
        #If Win64 Then
            dll = "xlwings64-" & XLWINGS_VERSION & ".dll"
        #Else
            dll = "xlwings32-" & XLWINGS_VERSION & ".dll"
        #End If
        If Not fso.FileExists(fso.BuildPath(fso.GetParentFolderName(path), dll)) And _
           Not fso.FileExists(fso.BuildPath(fso.GetParentFolderName(fso.GetParentFolderName(path)), dll)) Then
            InterpreterProblem = Zh("540E 53F0 0020 0050 0079 0074 0068 006F 006E FF08 0055 0073 0065 0020 0055 0044 0046 0020 0053 0065 0072 0076 0065 0072 FF09 9700 8981 0020 0078 006C 0077 0069 006E 0067 0073 0020") & XLWINGS_VERSION & Zh("0020 7684 0020") & dll & _
                Zh("FF0C 5728 0020 0050 0079 0074 0068 006F 006E 0020 7684 6587 4EF6 5939 4E2D 6CA1 6709 627E 5230 FF1A") & vbCrLf & fso.GetParentFolderName(path) & vbCrLf & vbCrLf & _
                Zh("8BF7 8FD0 884C FF1A") & """" & ConsolePython(path) & """ -m pip install ""xlwings==" & XLWINGS_VERSION & """" & _
                Zh("FF0C 518D 8FD0 884C 0020 0067 0078 0073 0068 0065 0065 0074 0020 0061 0064 0064 0069 006E 0020 0069 006E 0073 0074 0061 006C 006C 0020 002D 002D 0075 0064 0066 002D 0073 0065 0072 0076 0065 0072 FF0C 7136 540E 91CD 65B0 542F 52A8 0020 0045 0078 0063 0065 006C 3002")
        End If
    End If
End Function

Private Function ProbeCode() As String
    ' One Python line, no double quotes: exit 3 without gxsheet, 4 without xlwings, 5 with another
    ' xlwings than this VBA was built for, 1 if an import fails (a broken install), 0 when all is well.
    ProbeCode = "import sys, importlib.util as u; " & _
        "m = [c for n, c in (('gxsheet', " & PROBE_NO_GXSHEET & "), ('xlwings', " & PROBE_NO_XLWINGS & ")) if u.find_spec(n) is None]; " & _
        "m and sys.exit(m[0]); import xlwings; " & _
        "xlwings.__version__ == '" & XLWINGS_VERSION & "' or sys.exit(" & PROBE_WRONG_XLWINGS & "); " & _
        "import gxsheet.excel.addin"
End Function

Private Function ProbeProblem() As String
    ' Start the interpreter once (hidden, waiting for it) and read its exit code.
    Dim path As String
    Dim wsh As Object
    Dim code As Long
    Dim failure As String
    #If Mac Then
        Exit Function
    #End If
    path = Interpreter()
    If path = probedInterpreter Then Exit Function
    If GetConfig("CONDA PATH", "") <> "" Then Exit Function ' started through conda activate: not probed
    Set wsh = CreateObject("WScript.Shell")
    On Error Resume Next
    If InStr(path, "\") > 0 Then wsh.CurrentDirectory = Left$(path, InStrRev(path, "\") - 1)
    Err.Clear
    code = wsh.Run("""" & path & """ -B -c """ & ProbeCode() & """", 0, True)
    If Err.Number <> 0 Then failure = Err.Description & " (" & Err.Number & ")" ' never empty on failure
    On Error GoTo 0
    If failure <> "" Then
        ' Python could not be started at all.
        ProbeProblem = Zh("65E0 6CD5 542F 52A8 0020 0050 0079 0074 0068 006F 006E FF1A") & path & vbCrLf & Zh("FF08") & failure & Zh("FF09") & vbCrLf & vbCrLf & _
            Zh("8BF7 5B89 88C5 0020 0050 0079 0074 0068 006F 006E FF08 0033 002E 0031 0031 0020 6216 66F4 65B0 FF09 FF0C 5728 5176 4E2D 5B89 88C5 0020 0067 0078 0073 0068 0065 0065 0074 0020 540E 8FD0 884C 0020 0070 0079 0074 0068 006F 006E 0020 002D 006D 0020 0067 0078 0073 0068 0065 0065 0074 0020 0061 0064 0064 0069 006E 0020 0069 006E 0073 0074 0061 006C 006C FF0C 7136 540E 91CD 65B0 542F 52A8 0020 0045 0078 0063 0065 006C 3002")
        Exit Function
    End If
    Select Case code
        Case 0
            probedInterpreter = path
        Case 9009
            ' cmd's "not found": the "python" on PATH is only the Microsoft Store placeholder.
            ProbeProblem = Zh("627E 4E0D 5230 53EF 7528 7684 0020 0050 0079 0074 0068 006F 006E FF1A 8FD9 53F0 7535 8111 4E0A 7684 201C") & path & Zh("201D 53EA 662F 0020 004D 0069 0063 0072 006F 0073 006F 0066 0074 0020 0053 0074 006F 0072 0065 0020 7684 5B89 88C5 63D0 793A FF0C 4E0D 662F 771F 6B63 7684 0020 0050 0079 0074 0068 006F 006E 3002") & vbCrLf & vbCrLf & _
                Zh("8BF7 5B89 88C5 0020 0050 0079 0074 0068 006F 006E FF08 0033 002E 0031 0031 0020 6216 66F4 65B0 FF09 FF0C 5728 5176 4E2D 5B89 88C5 0020 0067 0078 0073 0068 0065 0065 0074 0020 540E 8FD0 884C 0020 0070 0079 0074 0068 006F 006E 0020 002D 006D 0020 0067 0078 0073 0068 0065 0065 0074 0020 0061 0064 0064 0069 006E 0020 0069 006E 0073 0074 0061 006C 006C FF0C 7136 540E 91CD 65B0 542F 52A8 0020 0045 0078 0063 0065 006C 3002")
        Case PROBE_NO_GXSHEET
            ' gxsheet is not installed in this Python.
            ProbeProblem = Zh("52A0 8F7D 9879 4F7F 7528 7684 0020 0050 0079 0074 0068 006F 006E 0020 4E2D 6CA1 6709 5B89 88C5 0020 0067 0078 0073 0068 0065 0065 0074 FF1A") & vbCrLf & path & vbCrLf & vbCrLf & _
                Zh("8BF7 5728 547D 4EE4 63D0 793A 7B26 4E2D 8FD0 884C FF1A") & """" & ConsolePython(path) & """ -m pip install ""gxsheet[addin]""" & _
                Zh("FF08 79BB 7EBF 7535 8111 8BF7 8FD0 884C 5B89 88C5 5305 4E2D 7684 0020 0069 006E 0073 0074 0061 006C 006C 002E 0063 006D 0064 FF09 FF0C 518D 70B9 4E00 6B21 3002")
        Case PROBE_NO_XLWINGS
            ' xlwings (how the add-in calls Python) is not installed in this Python.
            ProbeProblem = Zh("52A0 8F7D 9879 4F7F 7528 7684 0020 0050 0079 0074 0068 006F 006E 0020 4E2D 6CA1 6709 5B89 88C5 0020 0078 006C 0077 0069 006E 0067 0073 FF08 52A0 8F7D 9879 9760 5B83 8C03 7528 0020 0050 0079 0074 0068 006F 006E FF09 FF1A") & vbCrLf & path & vbCrLf & vbCrLf & _
                Zh("8BF7 5728 547D 4EE4 63D0 793A 7B26 4E2D 8FD0 884C FF1A") & """" & ConsolePython(path) & """ -m pip install ""gxsheet[addin]""" & _
                Zh("FF08 79BB 7EBF 7535 8111 8BF7 8FD0 884C 5B89 88C5 5305 4E2D 7684 0020 0069 006E 0073 0074 0061 006C 006C 002E 0063 006D 0064 FF09 FF0C 518D 70B9 4E00 6B21 3002")
        Case PROBE_WRONG_XLWINGS
            ' Another xlwings version than the one this add-in was built for.
            ProbeProblem = Zh("52A0 8F7D 9879 4F7F 7528 7684 0020 0050 0079 0074 0068 006F 006E 0020 4E2D 0020 0078 006C 0077 0069 006E 0067 0073 0020 7684 7248 672C 4E0D 5BF9 FF0C 52A0 8F7D 9879 9700 8981 0020 0078 006C 0077 0069 006E 0067 0073 0020") & XLWINGS_VERSION & Zh("FF1A") & vbCrLf & path & vbCrLf & vbCrLf & _
                Zh("8BF7 5728 547D 4EE4 63D0 793A 7B26 4E2D 8FD0 884C FF1A") & """" & ConsolePython(path) & """ -m pip install ""xlwings==" & XLWINGS_VERSION & """" & _
                Zh("FF0C 518D 70B9 4E00 6B21 3002")
        Case Else
            ' Python starts, but importing gxsheet or xlwings fails: a broken or incomplete install.
            ProbeProblem = Zh("0050 0079 0074 0068 006F 006E 0020 80FD 542F 52A8 FF0C 4F46 52A0 8F7D 0020 0067 0078 0073 0068 0065 0065 0074 0020 6216 0020 0078 006C 0077 0069 006E 0067 0073 0020 65F6 51FA 9519 FF08 5B89 88C5 4E0D 5B8C 6574 6216 5DF2 635F 574F FF0C 9000 51FA 7801 0020") & code & Zh("FF09 FF1A") & vbCrLf & path & vbCrLf & vbCrLf & _
                Zh("8BF7 91CD 65B0 5B89 88C5 FF1A") & """" & ConsolePython(path) & """ -m pip install --force-reinstall ""gxsheet[addin]""" & vbCrLf & _
                Zh("60F3 770B 5177 4F53 539F 56E0 FF0C 53EF 5728 547D 4EE4 63D0 793A 7B26 4E2D 8FD0 884C FF1A") & """" & ConsolePython(path) & """ -c ""import xlwings, gxsheet.excel.addin"""
    End Select
End Function

Private Function WindowForXlwings() As Workbook
    ' xlwings' default mode attaches to Excel through a workbook window, and there is none when no
    ' workbook is open; a hidden blank workbook gives it one for the duration of the call (closed
    ' again by CloseScratch). UDF-server mode and Mac Excel need no window.
    Dim scratch As Workbook
    #If Mac Then
        Exit Function
    #End If
    If Workbooks.Count > 0 Then Exit Function
    If UsesUdfServer() Then Exit Function
    Application.ScreenUpdating = False
    Set scratch = Workbooks.Add
    scratch.Windows(1).Visible = False
    Application.ScreenUpdating = True
    Set WindowForXlwings = scratch
End Function

Private Sub CloseScratch(ByVal scratch As Workbook)
    If scratch Is Nothing Then Exit Sub
    On Error Resume Next
    scratch.Close SaveChanges:=False
End Sub

Private Sub ShowFailure(ByVal action As String, ByVal errNumber As Long, ByVal errText As String)
    ' Message: <action> failed: <error text> (<number>), then a hint to check Python and gxsheet
    ' and to reinstall the add-in (which rewrites the interpreter path in xlwings.conf).
    On Error Resume Next
    MsgBox Zh("300C") & action & Zh("300D 64CD 4F5C 5931 8D25 FF1A") & vbCrLf & _
        errText & " (" & errNumber & ")" & vbCrLf & vbCrLf & _
        Zh("8BF7 786E 8BA4 672C 673A 5DF2 5B89 88C5 0020 0050 0079 0074 0068 006F 006E 0020 548C 0020 0067 0078 0073 0068 0065 0065 0074 FF0C 7136 540E 91CD 65B0 5B89 88C5 52A0 8F7D 9879 3002"), _
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
