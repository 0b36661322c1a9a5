"""Built-in citizen-visible texts of the engine (buttons, errors, prompts), zh_CN and en."""

from __future__ import annotations

from flows.model import Text

T: dict[str, Text] = {
    # buttons
    "next": Text("下一步", "Next"),
    "back": Text("上一步", "Back"),
    "help": Text("呼叫帮助", "Call for help"),
    "cancel": Text("取消办理", "Cancel"),
    "agree": Text("同意", "I agree"),
    "decline": Text("不同意", "I do not agree"),
    "confirm": Text("确认提交", "Confirm and submit"),
    "edit": Text("修改", "Edit"),
    "retry": Text("重试", "Try again"),
    "skip": Text("跳过", "Skip"),
    "done": Text("完成", "Done"),
    "continue": Text("继续办理", "Continue"),
    "scan": Text("扫码填写", "Scan to fill"),
    "capture": Text("拍摄材料", "Photograph it"),
    "waive": Text("容缺办理", "Provide later (容缺)"),
    "submit_rating": Text("提交评价", "Submit rating"),
    # identification methods
    "method.id_card": Text("刷身份证", "Resident ID card"),
    "method.lutong_code": Text("亮鲁通码", "Show your 鲁通码"),
    "method.face": Text("刷脸认证", "Face verification"),
    "prompt.waiting_card": Text("请将身份证放在读卡区", "Place your ID card on the reader"),
    "prompt.waiting_code": Text("请将鲁通码对准扫码窗口", "Hold your 鲁通码 to the scanner"),
    "prompt.enter_id": Text("请输入身份证号码", "Enter your ID number"),
    "prompt.waiting_face": Text("请正对摄像头，按提示眨眼", "Face the camera and blink"),
    "prompt.busy": Text("正在处理，请稍候", "Working, please wait"),
    "prompt.warning": Text(
        "您还在吗？如需继续请点击屏幕", "Are you still there? Touch to continue"
    ),
    # errors
    "err.no_card": Text("未读到身份证，请重新放置", "No card read; place it again"),
    "err.card_invalid": Text("证件信息校验失败，请重试", "Card data failed its check; try again"),
    "err.code_expired": Text("鲁通码已过期，请刷新后重试", "The code has expired; refresh it"),
    "err.code_rejected": Text("鲁通码无效", "The code was not accepted"),
    "err.not_live": Text("未通过活体检测", "Liveness check failed"),
    "err.no_match": Text("人像比对未通过", "Your face did not match"),
    "err.bad_id_number": Text("身份证号码格式或校验位错误", "Not a valid ID number"),
    "err.no_method": Text(
        "身份核验设备暂不可用，请联系工作人员", "No identification device available; ask staff"
    ),
    "err.exhausted": Text("尝试次数已用完", "No attempts left"),
    "err.device": Text(
        "设备故障，请换一种方式或呼叫帮助", "Device fault; try another way or call for help"
    ),
    "err.timeout": Text("等待超时，请重试", "Timed out; try again"),
    "err.offline": Text("平台网络中断，请稍后重试", "The platform is unreachable; try later"),
    "err.submit": Text(
        "提交失败，请重试或呼叫帮助", "Submission failed; try again or call for help"
    ),
    "err.outbox_full": Text(
        "暂存已满，请到窗口办理", "Offline storage full; please go to a window"
    ),
    "err.not_found": Text("未查询到相关信息", "Nothing was found"),
    "err.print": Text("打印失败", "Printing failed"),
    "err.paper_out": Text("打印机缺纸，请联系工作人员", "The printer is out of paper; ask staff"),
    "err.printer_down": Text("打印机不可用", "The printer is out of service"),
    "err.required": Text("此项必填", "Required"),
    "err.invalid": Text("格式不正确", "Invalid format"),
    "err.out_of_range": Text("超出允许范围", "Out of range"),
    "err.not_a_choice": Text("请从选项中选择", "Choose one of the options"),
    "mat.licence": Text("电子证照（免提交）", "E-licence (nothing to hand in)"),
    "mat.captured": Text("已拍摄", "Captured"),
    "mat.waived": Text("容缺（承诺后补交）", "Deferred under a commitment"),
    "mat.missing": Text("未提供", "Missing"),
    "doc.receipt": Text("受理回执", "Acceptance receipt"),
    "doc.ticket": Text("排队小票", "Queue ticket"),
    "doc.certificate": Text("证明", "Certificate"),
    "doc.licence": Text("电子证照", "E-licence"),
    "doc.case_status": Text("办件进度", "Case status"),
    "err.materials_missing": Text(
        "请提交或容缺办理所有必需材料", "Provide (or defer) every required material"
    ),
    "err.capture": Text("拍摄失败，请重试", "Capture failed; try again"),
    "err.no_camera": Text("高拍仪不可用", "Document camera out of service"),
    "err.capture_no_document": Text(
        "未拍到材料，请将材料平放在拍摄区域", "No document seen; place it flat in the capture area"
    ),
    "err.capture_dark": Text(
        "画面太暗，请移开遮挡拍摄区域的物品后重拍", "Too dark; clear the capture area and retry"
    ),
    "err.capture_blurred": Text(
        "照片不清晰，请将材料放平并保持不动后重拍", "Blurred; lay the page flat, keep it still"
    ),
    "err.capture_too_large": Text(
        "材料照片已达本次办理的上限，请联系工作人员", "Too many pages for one case; ask staff"
    ),
    "err.no_assistant": Text("暂无坐席，请联系大厅工作人员", "No assistant free; ask hall staff"),
    "err.rate_first": Text("请先选择满意度", "Choose a rating first"),
    "err.fetch": Text(
        "部分信息未能自动获取，请手工填写", "Some data could not be fetched; please fill it in"
    ),
    # 好差评 five levels, 5 = best (national interface order)
    "rate.5": Text("非常满意", "Very satisfied"),
    "rate.4": Text("满意", "Satisfied"),
    "rate.3": Text("基本满意", "Fairly satisfied"),
    "rate.2": Text("不满意", "Dissatisfied"),
    "rate.1": Text("非常不满意", "Very dissatisfied"),
    # 好差评 reasons (offline dimensions: 服务效率, 服务水平, 服务态度, plus kiosk-specific)
    "reason.good_efficiency": Text("办理高效", "Quick"),
    "reason.good_easy": Text("操作便捷", "Easy to use"),
    "reason.good_guidance": Text("指引清楚", "Clear guidance"),
    "reason.good_attitude": Text("服务热情", "Helpful service"),
    "reason.bad_slow": Text("办理时间长", "Took too long"),
    "reason.bad_hard": Text("操作复杂", "Hard to use"),
    "reason.bad_unclear": Text("指引不清楚", "Unclear guidance"),
    "reason.bad_device": Text("设备故障", "Device problems"),
    "reason.bad_repeat": Text("重复提交材料", "Had to repeat materials"),
    # summary labels
    "sum.item": Text("办理事项", "Service"),
    "sum.departments": Text("联办部门", "Departments"),
    "sum.lead": Text("牵头部门", "Lead department"),
    "sum.accepting": Text("收件地", "Receiving office"),
    "sum.handling": Text("办理地", "Handling office"),
    "sum.applicant": Text("申请人", "Applicant"),
    "sum.case_number": Text("办件编号", "Case number"),
    "sum.queued": Text("已暂存，联网后自动上报；回执号", "Saved; sent when online. Receipt"),
    "sum.waived": Text("容缺材料", "Materials to provide later"),
    "sum.ticket": Text("排队号", "Queue number"),
    "sum.waiting": Text("前方等候", "People ahead"),
    "sum.status": Text("办件状态", "Case status"),
    "sum.benefit": Text("可享政策", "Matched benefit"),
    "sum.no_benefits": Text("暂无匹配的惠民政策", "No benefits matched"),
    "sum.invoice": Text("查验结果", "Check result"),
    "sum.printed": Text("已打印", "Printed"),
    "sum.print_failed": Text("未打印（可在爱山东查看）", "Not printed (see 爱山东 app)"),
    "sum.certificate": Text("证明文件", "Certificate"),
}

REASONS_GOOD = ("good_efficiency", "good_easy", "good_guidance", "good_attitude")
REASONS_BAD = ("bad_slow", "bad_hard", "bad_unclear", "bad_device", "bad_repeat")
